"""The conversation with Sentry through a real `python -m bot` in Socket Mode: Send to Sentry
from a card's thread, and a Sentry comment relayed once even when the process is killed
between Slack taking the reply and the bot recording it.

Every use case runs in process in tests/usecases/test_conversation.py."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import message_action
from tests.fakes.slack_server import FakeSlack
from tests.triage_desk import ANA

pytestmark = pytest.mark.e2e

BO = "U0BOB0004"


def cards_of(slack: FakeSlack, issue_id: str) -> list[Any]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_issue_card"
        and m.metadata["event_payload"]["issue_id"] == issue_id
    ]


def comment_replies(slack: FakeSlack, thread_ts: str) -> list[Any]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if m.thread_ts == thread_ts
        and (m.metadata or {}).get("event_type") == "sentry_issue_comment"
    ]


def test_send_to_sentry_over_socket_mode_and_a_comment_back_once_across_a_kill(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    slack.add_user(BO, "bo@example.com", "bo")
    sentry.add_member("ana@example.com", name="Ana Lima")
    sentry.add_member("bo@example.com", name="Bo Berg")
    bot = make_bot(socket_mode=True)
    bot.start()
    bot.wait_ready()
    slack.wait_connected(timeout=10)
    wait_polls(sentry, 1)
    issue = sentry.create_issue("web", "ZeroDivisionError: division by zero")
    slack.wait_for(lambda: len(cards_of(slack, issue["id"])) == 1, 15)
    [card] = cards_of(slack, issue["id"])
    # The next cycle's search means the one that posted the card has recorded it: a shortcut
    # sooner finds no card behind the thread and asks which issue (a person cannot be faster).
    wait_polls(sentry, 1)

    # Send to Sentry, delivered over the socket.
    ts = slack.add_user_message(CHANNEL, BO, "it fails for <@U0ANA0001> too", thread_ts=card.ts)
    url = slack.new_response_url(channel=CHANNEL, user=ANA)
    payload = message_action(
        ANA, "T111", {"id": CHANNEL, "name": "alerts"}, slack.message(CHANNEL, ts).as_slack(), url
    )
    ack = slack.wait_for_ack(slack.send_envelope("interactive", payload), timeout=5)
    assert not ack.get("payload")
    try:
        slack.wait_for(lambda: any(p.url == url for p in slack.response_posts()), 30)
    except TimeoutError:
        raise AssertionError(bot.log()) from None
    [told] = [p.body["text"] for p in slack.response_posts() if p.url == url]
    assert told == "Sent to Sentry as a comment on the issue of this thread's card."
    [sent] = sentry.comments(issue["id"])
    assert "it fails for @ana too" in sent["data"]["text"]

    # A person comments in Sentry; Slack takes the reply but its answer is lost, and the bot
    # is killed before it could settle it.
    slack.drop_next("chat.postMessage")
    sentry.add_comment(issue["id"], "Fixed in the next deploy", by="bo@example.com")
    bot.wait_for_log("may or may not have reached Slack", 30)
    bot.stop(signal.SIGKILL)
    assert len(comment_replies(slack, card.ts)) == 1

    bot.start()
    bot.wait_ready()
    bot.wait_for_log("reconciled comment", 30)
    wait_polls(sentry, 3)
    bot.stop()
    [reply] = comment_replies(slack, card.ts)
    assert reply.text == "Bo Berg commented in Sentry: Fixed in the next deploy"
    assert ": already posted" in bot.log()
