"""Triage from the card, end to end: signed clicks in, Sentry changed, the card replaced.

Every triage use case runs in process in tests/usecases/test_triage.py; these scenarios keep
the whole path through a real `python -m bot` in HTTP and in Socket Mode."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    action_for,
    block_actions,
    block_suggestion,
    interactive_body,
    post_to_bot,
    sign,
    view_submission,
)
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e

ANA = "U0ANA0001"  # a Sentry member
BEA = "U0BEA0002"  # billing role: may not triage
NOBODY = "U0NOB0003"  # no Sentry account


@dataclass
class Desk:
    """One running bot with a card on screen, and a way to click it like Slack would."""

    bot: BotProcess
    sentry: FakeSentry
    slack: FakeSlack
    issue: dict[str, Any]

    def card(self) -> Any:
        [card] = [
            m
            for m in self.slack.messages(CHANNEL)
            if (m.metadata or {}).get("event_type") == "sentry_issue_card"
            and m.metadata["event_payload"]["issue_id"] == self.issue["id"]
        ]
        return card

    def send(self, payload: dict[str, Any], *, timestamp: int | None = None) -> Any:
        body = interactive_body(payload)
        headers = sign(body, TOKENS["SLACK_SIGNING_SECRET"], timestamp or int(time.time()))
        return post_to_bot(f"{self.bot.url}/slack/events", body, headers)

    def click(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = ANA,
        team: str = "T111",
        action_ts: str | None = None,
    ) -> tuple[Any, str]:
        card = self.card()
        action = action_for(
            card.blocks, action_id, value=value, action_ts=action_ts or f"{time.time():.6f}"
        )
        response_url = self.slack.new_response_url(channel=CHANNEL, message_ts=card.ts)
        payload = block_actions(user, team, CHANNEL, card.as_slack(), action, response_url)
        return self.send(payload), response_url

    def puts(self) -> list[Any]:
        return self.sentry.requests_matching("PUT", f"/issues/{self.issue['id']}/")

    def wait_card(self, predicate: Any, timeout: float = 10.0) -> Any:
        self.slack.wait_for(lambda: predicate(json.dumps(self.card().blocks)), timeout)
        return self.card()

    def ephemeral_for(self, response_url: str) -> list[str]:
        return [
            p.body.get("text", "") for p in self.slack.response_posts() if p.url == response_url
        ]


def option_value(blocks: list[dict[str, Any]], action_id: str, label: str) -> str:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                for option in element.get("options", []):
                    if option["text"]["text"] == label:
                        return str(option["value"])
    raise KeyError(label)


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
