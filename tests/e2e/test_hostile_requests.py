"""Hostile and stale requests against the running process (HTTP mode, and Socket Mode envelopes):
each gets 401, 400 or an answered 200, nothing reaches Sentry, and the log shows no traceback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e

SECRET = TOKENS["SLACK_SIGNING_SECRET"]
ANA = "U0ANA0001"
TS = "1700000000.000100"
NOT_ISSUES = [".", "..", "1" * 40]


def label(issue: str) -> str:
    return repr(issue) if len(issue) <= 8 else f"{len(issue)} digits"


@dataclass(frozen=True)
class Row:
    """One request of the table and what must come back."""

    name: str
    status: int
    body: Callable[[str], str]  # response_url -> raw body
    content_type: str = sr.FORM
    signed_with: str | None = SECRET
    age: int = 0
    ack_contains: str = ""
    reply_contains: str = ""


def click(action_id: str, value: str, url: str, block_id: str = "b1") -> str:
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": "Go"},
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }
    message = {"ts": TS, "text": "card", "blocks": []}
    return sr.interactive_body(sr.block_actions(ANA, "T111", CHANNEL, message, action, url))


def dialog(callback_id: str, metadata: str) -> str:
    view = {"callback_id": callback_id, "private_metadata": metadata, "blocks": []}
    values = {"ignore_count": {"count": {"type": "plain_text_input", "value": "5"}}}
    payload = sr.view_submission(ANA, "T111", view, values, view_id=f"V{time.time_ns()}")
    return sr.interactive_body(payload)


def ignore_metadata(issue: str) -> str:
    return json.dumps({"i": issue, "m": "events", "c": CHANNEL, "t": TS})


def delete_metadata(issue: str) -> str:
    return json.dumps({"i": issue, "s": "WEB-1", "c": CHANNEL})


def command(text: str, url: str) -> str:
    return urlencode(sr.slash_command(text, user_id=ANA, channel_id=CHANNEL, response_url=url))


def suggestion(block_id: str) -> str:
    payload = sr.block_suggestion(
        ANA, "T111", CHANNEL, TS, action_id="issue.assign", block_id=block_id, value="a"
    )
    return sr.interactive_body(payload)


RESOLVE = sr.interactive_body({"type": "block_actions"})
TABLE = [
    Row("unsigned", 401, lambda url: RESOLVE, signed_with=None),
    Row("bad signature", 401, lambda url: RESOLVE, signed_with="not-the-secret"),
    Row("stale timestamp", 401, lambda url: RESOLVE, age=301),
    Row("signed, payload not JSON", 400, lambda url: "payload=%7Bnot-json"),
    Row("signed, JSON of the wrong shape", 400, lambda url: "payload=" + quote("[1,2]")),
    Row(
        "signed, actions of the wrong type",
        400,
        lambda url: "payload=" + quote('{"type":"block_actions","user":{"id":"U1"},"actions":7}'),
    ),
    Row("signed, JSON body too deep", 400, lambda url: "[" * 20_000, content_type=sr.JSON),
    Row("signed, body over 1 MiB", 413, lambda url: "payload=" + "x" * (1024 * 1024)),
    Row(
        "unknown action_id (old card)",
        200,
        lambda url: click("issue.snooze", "1|42|snooze|", url, "issue:42:controls:r1"),
        reply_contains="/sentry issue 42",
    ),
    Row(
        "unknown payload type",
        200,
        lambda url: sr.interactive_body(
            {"type": "from_the_future", "user": {"id": ANA}, "response_url": url}
        ),
        reply_contains="does not handle that kind of request",
    ),
    Row(
        "unreadable private_metadata (ignore dialog)",
        200,
        lambda url: dialog("issue.ignore.count", "{garbage"),
        ack_contains='"response_action": "errors"',
    ),
    Row(
        "unreadable private_metadata (delete dialog)",
        200,
        lambda url: dialog("issue.delete.confirm", "{garbage"),
        ack_contains='"response_action": "update"',
    ),
    Row(
        "unknown dialog",
        200,
        lambda url: dialog("dialog.from.the.future", "{}"),
        ack_contains="another version of the app",
    ),
    Row(
        "unknown slash command",
        200,
        lambda url: urlencode(sr.slash_command("", command="/other", response_url=url)),
        ack_contains="only answers /sentry",
    ),
    *(
        row
        for bad in NOT_ISSUES
        for row in (
            Row(
                f"card value naming {label(bad)}",
                200,
                lambda url, bad=bad: click("issue.resolve", f"1|{bad}|resolve|now", url),
                reply_contains="could not be read",
            ),
            Row(
                f"digest option naming {label(bad)}",
                200,
                lambda url, bad=bad: click("digest.triage", f"1|{bad}|resolve|now", url),
                reply_contains="could not be read",
            ),
            Row(
                f"ignore dialog naming {label(bad)}",
                200,
                lambda url, bad=bad: dialog("issue.ignore.count", ignore_metadata(bad)),
                ack_contains="could not be read",
            ),
            Row(
                f"delete dialog naming {label(bad)}",
                200,
                lambda url, bad=bad: dialog("issue.delete.confirm", delete_metadata(bad)),
                ack_contains="could not be read",
            ),
            Row(
                f"assign menu of {label(bad)}",
                200,
                lambda url, bad=bad: suggestion(f"issue:{bad}:controls:r1"),
                ack_contains='{"options": []}',
            ),
            Row(
                f"/sentry resolve {label(bad)}",
                200,
                lambda url, bad=bad: command(f"resolve {bad}", url),
                reply_contains="is not an issue",
            ),
        )
    ),
]


def send(bot: BotProcess, row: Row, body: str) -> sr.BotReply:
    if row.signed_with is None:
        headers = {"Content-Type": row.content_type}
    else:
        timestamp = int(time.time()) - row.age
        headers = sr.sign(body, row.signed_with, timestamp, content_type=row.content_type)
    return sr.post_to_bot(f"{bot.url}/slack/events", body, headers)


def changes(sentry: FakeSentry) -> list[Any]:
    return [r for r in sentry.requests if r.method in ("PUT", "POST", "DELETE")]


def test_every_hostile_request_gets_its_answer_and_nothing_reaches_sentry(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1)
        got: list[tuple[str, int]] = []
        for row in TABLE:
            url = slack.new_response_url(channel=CHANNEL, message_ts=TS)
            reply = send(bot, row, row.body(url))
            got.append((row.name, reply.status))
            if reply.status != row.status:
                continue
            assert row.ack_contains in reply.body, (row.name, reply.body)
            if row.reply_contains:
                slack.wait_for(
                    lambda url=url: any(p.url == url for p in slack.response_posts()), 10
                )
                texts = [p.body.get("text", "") for p in slack.response_posts() if p.url == url]
                assert any(row.reply_contains in text for text in texts), (row.name, texts)
        assert got == [(row.name, row.status) for row in TABLE]
        wait_polls(sentry, 1)
        assert changes(sentry) == []
        log = bot.log()
        assert "Traceback" not in log
        assert " ERROR " not in log


def test_socket_mode_acks_unreadable_envelopes_once_without_a_traceback(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot(socket_mode=True) as bot:
        bot.wait_ready()
        slack.wait_connected(timeout=10)
        unreadable: list[Any] = [
            ["a", "list"],
            7,
            None,
            {"type": "block_actions", "actions": "all"},
            {"type": "view_submission", "user": {"id": ANA}, "view": {"callback_id": 5}},
        ]
        for payload in unreadable:
            envelope = slack.send_envelope("interactive", payload)
            assert slack.wait_for_ack(envelope, timeout=5) == {"envelope_id": envelope}
        bot.wait_for_log(r"acknowledged an unreadable Socket Mode interactive envelope.*view")
        stale = sr.block_suggestion(
            ANA, "T111", CHANNEL, TS, action_id="issue.assign", block_id="issue:..:c:r", value=""
        )
        envelope = slack.send_envelope("interactive", stale)
        assert slack.wait_for_ack(envelope, timeout=5)["payload"] == {"options": []}
        log = bot.log()
        assert log.count("acknowledged an unreadable Socket Mode") == len(unreadable)
        assert "Traceback" not in log
        assert changes(sentry) == []
