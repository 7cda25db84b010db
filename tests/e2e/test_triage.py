"""Triage from the card, end to end: signed clicks in, Sentry changed, the card replaced.

Every triage use case runs in process in tests/usecases/test_triage.py; these scenarios keep
the whole path through a real `python -m bot` in HTTP and in Socket Mode."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    action_for,
    block_actions,
    block_suggestion,
    view_submission,
)
from tests.fakes.slack_server import FakeSlack
from tests.triage_desk import ANA, BEA, NOBODY, Desk, option_value

pytestmark = pytest.mark.e2e


def open_desk(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, *, socket_mode: bool
) -> Iterator[Desk]:
    slack.add_user(ANA, "ana@example.com", "ana")
    slack.add_user(BEA, "bea@example.com", "bea")
    slack.add_user(NOBODY, "nobody@example.com", "nobody")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    sentry.add_member("bea@example.com", name="Bea Ruiz", role="billing")
    sentry.add_team("backend", name="Backend")
    with make_bot(socket_mode=socket_mode) as bot:
        bot.wait_ready()
        if socket_mode:
            slack.wait_connected(timeout=10)
        wait_polls(sentry, 1)
        issue = sentry.create_issue("web", "ZeroDivisionError: division by zero")
        desk = Desk(bot, sentry, slack, issue)
        slack.wait_for(
            lambda: any(
                (m.metadata or {}).get("event_payload", {}).get("issue_id") == issue["id"]
                for m in slack.messages(CHANNEL)
            ),
            15,
        )
        yield desk


@pytest.fixture
def desk(make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack) -> Iterator[Desk]:
    yield from open_desk(make_bot, sentry, slack, socket_mode=False)


@pytest.fixture
def socket_desk(make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack) -> Iterator[Desk]:
    yield from open_desk(make_bot, sentry, slack, socket_mode=True)


def socket_click(desk: Desk, action_id: str, value: str) -> dict[str, Any]:
    card = desk.card()
    action = action_for(card.blocks, action_id, value=value, action_ts=f"{time.time():.6f}")
    payload = block_actions(
        ANA, "T111", CHANNEL, card.as_slack(), action, desk.slack.new_response_url()
    )
    envelope = desk.slack.send_envelope("interactive", payload)
    return desk.slack.wait_for_ack(envelope, timeout=5)


def test_socket_mode_resolve_and_assign(socket_desk: Desk) -> None:
    desk = socket_desk
    ack = socket_click(
        desk, "issue.resolve", option_value(desk.card().blocks, "issue.resolve", "Resolve now")
    )
    assert "payload" not in ack or not ack["payload"]
    desk.wait_card(lambda text: f"Resolved by <@{ANA}>" in text)
    card = desk.card()
    block_id = next(
        b["block_id"]
        for b in card.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.assign"
    )
    envelope = desk.slack.send_envelope(
        "interactive",
        block_suggestion(
            ANA, "T111", CHANNEL, card.ts, action_id="issue.assign", block_id=block_id, value="me"
        ),
    )
    options = desk.slack.wait_for_ack(envelope, timeout=5)["payload"]["options"]
    me = next(o["value"] for o in options if o["text"]["text"] == "Me")
    socket_click(desk, "issue.assign", me)
    desk.wait_card(lambda text: "Assigned to Ana Lima by" in text)
    assert [r.json for r in desk.puts()] == [
        {"status": "resolved"},
        {"assignedTo": desk.puts()[1].json["assignedTo"]},
    ]
    assert desk.puts()[1].json["assignedTo"].startswith("user:")


def test_resolve_now_changes_sentry_and_replaces_the_card(desk: Desk) -> None:
    card = desk.card()
    value = option_value(card.blocks, "issue.resolve", "Resolve now")
    reply, _ = desk.click("issue.resolve", value)
    assert reply.status == 200
    assert reply.elapsed < 1.0
    card = desk.wait_card(lambda text: "Resolved by" in text)
    assert [r.json for r in desk.puts()] == [{"status": "resolved"}]
    assert desk.sentry.issue(desk.issue["id"])["status"] == "resolved"
    text = json.dumps(card.blocks)
    assert f"<@{ANA}>" in text
    assert "issue.unresolve" in text
    assert "issue.resolve" not in text
    assert card.ts == desk.card().ts  # replaced in place, not reposted
    assert len(card.edits) >= 1


def test_ignore_until_n_events_asks_for_n_in_a_dialog(desk: Desk) -> None:
    labels = [
        o
        for b in desk.card().blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.ignore"
        for o in e["options"]
    ]
    events = next(o["value"] for o in labels if "events" in o["text"]["text"].lower())
    desk.click("issue.ignore", events)
    try:
        desk.slack.wait_for(lambda: len(desk.slack.views()) == 1, 10)
    except TimeoutError:
        raise AssertionError(desk.bot.log()) from None
    [view] = desk.slack.views()
    assert desk.puts() == []
    opened = view.view if hasattr(view, "view") else view
    submission = view_submission(
        ANA,
        "T111",
        opened,
        {"ignore_count": {"count": {"type": "plain_text_input", "value": "250"}}},
    )
    reply = desk.send(submission)
    assert reply.status == 200
    desk.sentry.wait_for(lambda: len(desk.puts()) == 1, 10)
    assert desk.puts()[0].json == {"status": "ignored", "statusDetails": {"ignoreCount": 250}}
    desk.wait_card(lambda text: "250" in text)
