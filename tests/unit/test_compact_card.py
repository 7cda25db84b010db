"""The compact card unfurled under a Sentry link: golden payloads plus invariants over hostile
issues (Slack's limits, escaping, and the alert card's own controls)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.sentry.models import Assignee
from bot.slack import actions
from bot.slack.actions import issue_id_from_block_id
from bot.slack.card import build_compact_card, build_issue_card
from bot.triage.vocabulary import LastAction
from tests.fakes.blockkit_rules import validate_blocks
from tests.unit.test_card import HOSTILE, assert_golden, make_issue

AT = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_compact_card_unresolved_golden() -> None:
    assert_golden("compact_card_unresolved.json", build_compact_card(make_issue()))


def test_compact_card_resolved_with_last_action_golden() -> None:
    issue = make_issue(
        status="resolved",
        substatus=None,
        assigned_to=Assignee(kind="user", id="7", name="Ana Lima", email="ana@example.com"),
    )
    last = LastAction(slack_user_id="U0ANA0001", verb="Resolved", at=AT)
    assert_golden(
        "compact_card_resolved_with_last_action.json",
        build_compact_card(issue, last_action=last),
    )


def test_compact_card_has_the_alert_cards_controls() -> None:
    for status in ("unresolved", "resolved", "ignored"):
        issue = make_issue(status=status)
        compact = build_compact_card(issue)["blocks"]
        full = build_issue_card(issue)["blocks"]
        assert action_ids(compact) == action_ids(full)
        [controls] = [b for b in compact if b["type"] == "actions"]
        [full_controls] = [b for b in full if b["type"] == "actions"]
        assert controls["elements"] == full_controls["elements"]


def test_compact_card_names_every_fact() -> None:
    text = json.dumps(build_compact_card(make_issue())["blocks"])
    for fact in ("Error", "BACKEND-3F", "backend", "New", "Unassigned", "1,234 events"):
        assert fact in text
    assert "56 users" in text
    assert "Last seen" in text
    assert "render_total" not in text  # the culprit is left to the alert card


hostile_text = st.text(max_size=400) | st.just(HOSTILE * 40)


@given(
    title=hostile_text,
    culprit=hostile_text,
    short_id=hostile_text,
    slug=hostile_text,
    level=hostile_text,
    status=st.sampled_from(["unresolved", "resolved", "ignored", "muted", "weird<&>"]),
    count=st.integers(min_value=0, max_value=10**12),
    verb=hostile_text,
)
def test_compact_card_stays_within_slacks_limits_and_escapes_sentry_text(
    title: str,
    culprit: str,
    short_id: str,
    slug: str,
    level: str,
    status: str,
    count: int,
    verb: str,
) -> None:
    base = make_issue()
    issue = replace(
        base,
        title=title,
        culprit=culprit,
        short_id=short_id,
        level=level,
        status=status,
        count=count,
        project=replace(base.project, slug=slug),
    )
    card = build_compact_card(issue, last_action=LastAction("U0ANA0001", verb, AT))
    blocks = card["blocks"]
    assert validate_blocks(blocks) == []
    assert len(blocks) <= 4
    assert all(block["type"] != "rich_text" for block in blocks)
    assert {issue_id_from_block_id(block["block_id"]) for block in blocks} == {issue.id}
    assert set(action_ids(blocks)) <= {
        actions.ISSUE_RESOLVE,
        actions.ISSUE_IGNORE,
        actions.ISSUE_ASSIGN,
        actions.ISSUE_UNRESOLVE,
        actions.ISSUE_OPEN,
    }
    shown = json.dumps(blocks)
    for hostile in ("<!channel>", "<@U123>", "<https://evil"):
        assert hostile not in shown
