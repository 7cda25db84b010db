"""Triage from the card, in process: signed clicks to the bot's endpoint and Bolt's dispatch,
Sentry changed through the fake, the card replaced in the fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, wait_polls
from tests.e2e.harness import TOKENS
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
from tests.triage_desk import ANA, BEA, NOBODY, Desk, option_value
from tests.usecases.conftest import BotFactory


def open_desk(make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack) -> Iterator[Desk]:
    slack.add_user(ANA, "ana@example.com", "ana")
    slack.add_user(BEA, "bea@example.com", "bea")
    slack.add_user(NOBODY, "nobody@example.com", "nobody")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    sentry.add_member("bea@example.com", name="Bea Ruiz", role="billing")
    sentry.add_team("backend", name="Backend")
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "ZeroDivisionError: division by zero")
        desk = Desk(bot, sentry, slack, issue)
        bot.poll_now()
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
    yield from open_desk(make_bot, sentry, slack)


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


@pytest.mark.parametrize(
    ("label", "body"),
    [
        (
            "Until escalating",
            {"status": "ignored", "substatus": "archived_until_escalating", "statusDetails": {}},
        ),
        ("For 30 minutes", {"status": "ignored", "statusDetails": {"ignoreDuration": 30}}),
        ("Forever", {"status": "ignored", "substatus": "archived_forever", "statusDetails": {}}),
    ],
)
def test_ignore_options_send_sentrys_documented_bodies(
    desk: Desk, label: str, body: dict[str, Any]
) -> None:
    labels = [
        o["text"]["text"]
        for b in desk.card().blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.ignore"
        for o in e["options"]
    ]
    chosen = next(text for text in labels if text.lower().startswith(label.lower()[:8]))
    desk.click("issue.ignore", option_value(desk.card().blocks, "issue.ignore", chosen))
    desk.wait_card(lambda text: f"by <@{ANA}>" in text)
    assert [r.json for r in desk.puts()] == [body]
    assert desk.sentry.issue(desk.issue["id"])["status"] == "ignored"


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


def test_resolve_in_next_release_without_releases_explains_why(desk: Desk) -> None:
    value = option_value(desk.card().blocks, "issue.resolve", "In next release")
    _, response_url = desk.click("issue.resolve", value)
    desk.slack.wait_for(lambda: bool(desk.ephemeral_for(response_url)), 10)
    [message] = desk.ephemeral_for(response_url)
    assert "no releases" in message
    assert desk.sentry.issue(desk.issue["id"])["status"] == "unresolved"


def test_resolve_in_current_release_uses_latest(desk: Desk) -> None:
    desk.sentry.create_release("1.4.0", ["web"])
    value = option_value(desk.card().blocks, "issue.resolve", "In current release")
    desk.click("issue.resolve", value)
    desk.wait_card(lambda text: "Resolved in current release by" in text)
    assert desk.puts()[0].json == {"status": "resolved", "statusDetails": {"inRelease": "latest"}}


def test_assign_searches_members_and_teams_then_assigns(desk: Desk) -> None:
    card = desk.card()
    block_id = next(
        b["block_id"]
        for b in card.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.assign"
    )
    suggestion = block_suggestion(
        ANA, "T111", CHANNEL, card.ts, action_id="issue.assign", block_id=block_id, value="an"
    )
    reply = desk.send(suggestion)
    options = reply.json()["options"]
    labels = [o["text"]["text"] for o in options]
    assert "Ana Lima (ana@example.com)" in labels
    assert "#backend (Backend)" not in labels  # "an" matches no team
    ana = next(o["value"] for o in options if o["text"]["text"].startswith("Ana"))
    desk.click("issue.assign", ana)
    card = desk.wait_card(lambda text: "Assigned to Ana Lima by" in text)
    [put] = desk.puts()
    assert put.json["assignedTo"].startswith("user:")
    # Team search and unassign
    teams = desk.send(
        block_suggestion(
            ANA,
            "T111",
            CHANNEL,
            card.ts,
            action_id="issue.assign",
            block_id=next(
                b["block_id"]
                for b in card.blocks
                for e in b.get("elements", [])
                if e.get("action_id") == "issue.assign"
            ),
            value="back",
        )
    ).json()["options"]
    assert [o["text"]["text"] for o in teams] == ["#backend (Backend)"]
    nobody = next(
        o["value"]
        for o in desk.send(
            block_suggestion(
                ANA,
                "T111",
                CHANNEL,
                card.ts,
                action_id="issue.assign",
                block_id=block_id,
                value="",
            )
        ).json()["options"]
        if o["text"]["text"].startswith("Nobody")
    )
    desk.click("issue.assign", nobody)
    desk.wait_card(lambda text: "Unassigned by" in text)
    assert desk.puts()[-1].json == {"assignedTo": ""}


def test_unresolve_from_a_resolved_card(desk: Desk) -> None:
    desk.click("issue.resolve", option_value(desk.card().blocks, "issue.resolve", "Resolve now"))
    desk.wait_card(lambda text: "issue.unresolve" in text)
    desk.click("issue.unresolve")
    desk.wait_card(lambda text: "Unresolved by" in text)
    assert desk.puts()[-1].json == {"status": "unresolved"}


def test_the_link_button_is_acknowledged_and_does_nothing(desk: Desk) -> None:
    reply, _ = desk.click("issue.open")
    assert reply.status == 200
    assert desk.puts() == []


@pytest.mark.parametrize(
    ("user", "team", "reason"),
    [
        (NOBODY, "T111", "No member of the Sentry organization acme"),
        (BEA, "T111", "Your Sentry role (billing) cannot triage"),
        (ANA, "T999OTHER", "Only members of this workspace"),
    ],
)
def test_refusals_say_why_and_do_not_touch_sentry(
    desk: Desk, user: str, team: str, reason: str
) -> None:
    value = option_value(desk.card().blocks, "issue.resolve", "Resolve now")
    _, response_url = desk.click("issue.resolve", value, user=user, team=team)
    desk.slack.wait_for(lambda: bool(desk.ephemeral_for(response_url)), 10)
    assert reason in desk.ephemeral_for(response_url)[0]
    assert desk.puts() == []


def test_a_retried_delivery_of_the_same_click_is_applied_once(desk: Desk) -> None:
    value = option_value(desk.card().blocks, "issue.resolve", "Resolve now")
    desk.click("issue.resolve", value, action_ts="1790000000.000001")
    desk.wait_card(lambda text: "Resolved by" in text)
    desk.sentry.set_issue_status(desk.issue["id"], "unresolved")
    desk.wait_card(lambda text: '"issue.resolve"' in text)
    reply, _ = desk.click("issue.resolve", value, action_ts="1790000000.000001")
    assert reply.status == 200
    wait_polls(desk.sentry, 2, bot=desk.bot)
    assert len(desk.puts()) == 1


def test_a_deleted_issue_gets_a_message_and_the_card_stays(desk: Desk) -> None:
    desk.sentry.fail_next(1, status=404, path_contains=f"/issues/{desk.issue['id']}/")
    before = desk.card().blocks
    _, response_url = desk.click(
        "issue.resolve", option_value(before, "issue.resolve", "Resolve now")
    )
    desk.slack.wait_for(lambda: bool(desk.ephemeral_for(response_url)), 10)
    assert f"Sentry has no issue {desk.issue['id']}" in desk.ephemeral_for(response_url)[0]
    assert desk.card().blocks == before


def test_changes_made_in_sentry_show_within_two_polls(desk: Desk) -> None:
    desk.sentry.set_issue_status(desk.issue["id"], "resolved")
    wait_polls(desk.sentry, 2, bot=desk.bot)
    desk.wait_card(lambda text: "issue.unresolve" in text, timeout=5)


def test_a_regression_gets_a_thread_reply_and_the_card_updates(desk: Desk) -> None:
    desk.sentry.set_issue_status(desk.issue["id"], "resolved")
    desk.wait_card(lambda text: "issue.unresolve" in text)
    desk.sentry.regress(desk.issue["id"])
    card_ts = desk.card().ts
    desk.slack.wait_for(
        lambda: any(m.thread_ts == card_ts for m in desk.slack.messages(CHANNEL)), 10
    )
    wait_polls(desk.sentry, 3, bot=desk.bot)
    replies = [m for m in desk.slack.messages(CHANNEL) if m.thread_ts == card_ts]
    assert len(replies) == 1
    assert replies[0].reply_broadcast is True
    assert "Regressed" in replies[0].text
    assert "issue.resolve" in json.dumps(desk.card().blocks)


def test_forged_or_stale_requests_get_401_and_change_nothing(desk: Desk) -> None:
    card = desk.card()
    action = action_for(
        card.blocks,
        "issue.resolve",
        value=option_value(card.blocks, "issue.resolve", "Resolve now"),
    )
    payload = block_actions(
        ANA, "T111", CHANNEL, card.as_slack(), action, desk.slack.new_response_url()
    )
    body = interactive_body(payload)
    forged = sign(body, "not-the-secret", int(time.time()))
    assert post_to_bot(f"{desk.bot.url}/slack/events", body, forged).status == 401
    stale = sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time()) - 360)
    assert post_to_bot(f"{desk.bot.url}/slack/events", body, stale).status == 401
    wait_polls(desk.sentry, 1, bot=desk.bot)
    assert desk.puts() == []
