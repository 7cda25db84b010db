"""The store accepts the extremes the Sentry models can produce, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card.state import revision as card_state_hash
from bot.card.store import CardStore, NewCard
from bot.sentry.models import Issue
from tests.fakes.sentry_hostile import issue_template

WEB = "https://sentry.example"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def extreme(issue_id: int, first_seen: str) -> Issue:
    data = issue_template(org="acme", web_url=WEB, project="web", issue_id=issue_id)
    data.update(
        firstSeen=first_seen,
        status="s" * 500,
        substatus="\ud800" * 500,
        assignedTo={"type": "team", "id": "9" * 19, "name": "\x00"},
        project=dict(data["project"], slug="p" * 100),
    )
    return Issue.from_api(data, web_base=WEB, org="acme")


async def test_extreme_issues_are_stored_and_read_back(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    issues = [
        extreme(2**63 - 1, "9999-12-31T23:59:59-14:00"),
        extreme(1, "0001-01-01T00:00:00+14:00"),
    ]
    entries = [
        NewCard(
            channel="C1",
            issue_id=issue.id,
            route_id=None,
            project=issue.project.slug,
            first_seen=issue.first_seen,
        )
        for issue in issues
    ]
    assert await store.enqueue(entries) == 2
    rows = await store.owed()
    assert [r.issue_id for r in rows] == ["1", str(2**63 - 1)]
    for row, issue in zip(rows, reversed(issues), strict=True):
        assert row.first_seen == issue.first_seen
        await store.set_rendered(
            [row.id],
            rendered=card_state_hash(issue),
            status=issue.status,
            substatus=issue.substatus,
            now=NOW,
        )
    [stored] = await store.for_issue(str(2**63 - 1))
    assert stored.rendered == card_state_hash(issues[0])
    assert stored.status == "s" * 32
