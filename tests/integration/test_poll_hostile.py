"""A poll cycle with one hostile issue among good ones: every other issue is still carded.

In process, against the fake Sentry, the fake Slack and a real SQLite store, through the
runtime's own poller: the hostile issue is carded with what is readable (or skipped and
reported on the health page), the floor advances, and the next cycles carry on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.card.store import NewCard
from bot.config_file import BotConfig, RouteSpec
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_hostile import HOSTILE_CLASSES, hostile_issue, issue_template
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0HOSTILE"
HOSTILE_ID = 900_001


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeSentry, FakeSlack]]:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        slack.add_channel(CHANNEL, "hostile")
        sentry.create_project("web")
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": "acme",
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                # The shortest interval: Sentry calls get their 5-second floor deadline.
                "POLL_INTERVAL_SECONDS": "1",
            },
            cwd=tmp_path,
        )
        runtime = Runtime(settings, BotConfig(routes=(RouteSpec(channel=CHANNEL),)))
        await migrate(runtime.engine)
        created = datetime.now(UTC) - timedelta(minutes=30)
        await runtime.routes.sync_file_routes(runtime.config.routes, now=created)
        yield runtime, sentry, slack
        await runtime.close()


def carded(slack: FakeSlack) -> dict[str, Any]:
    """Top-level cards by issue id."""
    return {
        str(m.metadata["event_payload"]["issue_id"]): m
        for m in slack.messages(CHANNEL)
        if m.thread_ts is None and m.metadata
    }


@pytest.mark.parametrize("kind", HOSTILE_CLASSES)
async def test_one_hostile_issue_never_stops_the_others(
    runtime: tuple[Runtime, FakeSentry, FakeSlack], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot, sentry, slack = runtime
    before = sentry.create_issue("web", "Seen before the hostile one")
    template = issue_template(org="acme", web_url=sentry.url, project="web", issue_id=HOSTILE_ID)
    sentry.serve_raw_issue(hostile_issue(kind, template))
    after = sentry.create_issue("web", "Seen after the hostile one")

    with caplog.at_level(logging.WARNING, logger="bot.sentry.client"):
        first = await bot.poller.run_cycle()
        later = sentry.create_issue("web", "A later cycle")
        second = await bot.poller.run_cycle()

    cards = carded(slack)
    assert {before["id"], after["id"], later["id"]} <= cards.keys()
    assert first.failed_groups == second.failed_groups == []
    [route] = await bot.routes.all()
    assert route.polled_until is not None  # the floor advanced
    for message in cards.values():
        assert "evil.example" not in json.dumps(message.blocks)
    if kind == "non_numeric_id":
        assert str(HOSTILE_ID) not in cards
        assert (first.skipped, second.skipped) == (1, 1)
        assert "sentry data" in bot.poller.problems
        _ready, health = await bot.health()
        assert any("skipped 1 object" in line for line in health["degraded"])
        skipped_logs = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped_logs) == 1  # logged once, not every cycle
        metrics = bot.metrics.render().decode()
        skipped_total = bot.sentry.health.skipped  # every answer that held it
        assert skipped_total >= 2
        assert f"sentry_slack_sentry_items_skipped_total {skipped_total}.0" in metrics
    else:
        assert str(HOSTILE_ID) in cards  # shown with what is readable
        assert first.skipped == 0
        assert "sentry data" not in bot.poller.problems


async def test_a_dripping_sentry_is_given_up_and_reported(
    runtime: tuple[Runtime, FakeSentry, FakeSlack],
) -> None:
    bot, sentry, slack = runtime
    sentry.create_issue("web", "Waiting behind a drip")
    sentry.drip_next(1, interval=0.05, path_contains="/issues/")
    report = await bot.poller.run_cycle()
    assert report.deadline_hits == 1
    assert "sentry deadline" in bot.poller.problems
    assert "sentry_slack_sentry_deadline_hits_total 1.0" in bot.metrics.render().decode()
    second = await bot.poller.run_cycle()
    assert second.failed_groups == []
    assert len(carded(slack)) == 1
    assert "sentry deadline" not in bot.poller.problems


async def test_a_stored_id_that_is_not_an_issue_id_never_stops_the_card_refresh(
    runtime: tuple[Runtime, FakeSentry, FakeSlack],
) -> None:
    bot, sentry, slack = runtime
    issue = sentry.create_issue("web", "Kept current")
    await bot.poller.run_cycle()
    [card] = carded(slack).values()
    # A row written by an older version, under an id Sentry would refuse in `group=`.
    odd = NewCard(
        channel=CHANNEL,
        issue_id="../1",
        route_id=None,
        project="web",
        first_seen=datetime.now(UTC),
    )
    await bot.cards.enqueue([odd])
    [row] = [r for r in await bot.cards.owed() if r.issue_id == "../1"]
    await bot.outbox.store.claim([row.post.id], token="old", now=datetime.now(UTC))
    await bot.outbox.store.mark_posted(
        [row.post.id], ts="1.000001", posted_as="card", now=datetime.now(UTC)
    )

    sentry.set_issue_status(issue["id"], "resolved")
    for _ in range(2):
        report = await bot.poller.run_cycle()
        assert report.failed_groups == []
    assert report.freshness.checked >= 1
    assert "Resolved" in json.dumps(slack.message(CHANNEL, card.ts).blocks)
    group_lookups = [r for r in sentry.requests_matching("GET", "/issues/") if r.params("group")]
    assert group_lookups
    assert all(v.isdigit() for r in group_lookups for v in r.params("group"))
