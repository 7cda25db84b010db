"""Signed requests through the app's own endpoint and Bolt's dispatch, in process, against the
fake Sentry and Slack: every request gets 401, 400 or an answered 200, and nothing that is not a
valid issue id reaches Sentry."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.handlers import build_app
from bot.handlers.answered import answered
from bot.handlers.fallbacks import Fallbacks
from bot.handlers.http_mode import SlackHttpEndpoint
from bot.slack.dialogs import COUNT_BLOCK, IGNORE_COUNT_CALLBACK
from bot.slack.reply_actions import DELETE_CONFIRM_CALLBACK
from tests.e2e.harness import TOKENS
from tests.fakes import slack_requests as sr
from tests.hostile import BAD_ISSUE_IDS, example, mutated
from tests.inprocess import BoltApp, settle

SECRET = TOKENS["SLACK_SIGNING_SECRET"]
CHANNEL = "C0ALERTS1"
ANA = "U0ANA0001"
# Sentry paths that change an issue, with the id they name.
ISSUE_PATH = re.compile(r"/api/0/organizations/acme/issues/([^/]*)/$")


@pytest.fixture
def app(bolt_app: BoltApp) -> BoltApp:
    """The runtime answering through its endpoint (the `bolt_app` fixture of tests/conftest.py)."""
    return bolt_app


def click(action_id: str, value: str, response_url: str, block_id: str = "b1") -> dict[str, Any]:
    message = {"ts": "1700000000.000100", "text": "card", "blocks": []}
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": "Go"},
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }
    return sr.block_actions(ANA, "T111", CHANNEL, message, action, response_url)


def submission(callback_id: str, metadata: str, count: str = "5") -> dict[str, Any]:
    view = {"callback_id": callback_id, "private_metadata": metadata, "blocks": []}
    values = {COUNT_BLOCK: {"count": {"type": "plain_text_input", "value": count}}}
    return sr.view_submission(ANA, "T111", view, values, view_id=f"V{time.time_ns()}")


# ---- the door: signature first, then readability ----------------------------------------------


async def test_unsigned_forged_and_stale_requests_are_401_whatever_the_body(app: BoltApp) -> None:
    for body in ["payload=notjson", sr.interactive_body({"type": "block_actions"}), "\x00"]:
        unsigned = await app.endpoint.answer(body.encode(), {"Content-Type": sr.FORM})
        assert unsigned.status == 401
        assert (await app.send(body, secret="not-the-secret")).status == 401
        assert (await app.send(body, timestamp=int(time.time()) - 301)).status == 401
        assert (await app.send(body, timestamp=int(time.time()) + 301)).status == 401
    headers = sr.sign("a=1", SECRET, int(time.time())) | {"X-Slack-Request-Timestamp": "soon"}
    assert (await app.endpoint.answer(b"a=1", headers)).status == 401
    headers = sr.sign("a=1", SECRET, int(time.time())) | {"X-Slack-Signature": "v0=\u00e9"}
    assert (await app.endpoint.answer(b"a=1", headers)).status == 401
    assert (await app.endpoint.answer(b"\xff", sr.sign("", SECRET, int(time.time())))).status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=notjson", sr.FORM),
        ("payload=" + quote("[1, 2]"), sr.FORM),
        ("payload=" + quote('{"type": "block_actions", "actions": "all"}'), sr.FORM),
        ("payload=" + quote('{"type": "block_actions", "team": ["id"], "actions": []}'), sr.FORM),
        ("payload=" + quote('{"type": "view_submission", "view": 5}'), sr.FORM),
        ("payload=" + quote('{"type": "x", "authorizations": "abc"}'), sr.FORM),
        ("[" * 50_000, sr.JSON),
        ('{"type": "event_callback", "event": []}', sr.JSON),
        ("<xml/>", "text/xml"),
    ],
)
async def test_signed_but_unreadable_requests_are_400_with_a_reason(
    app: BoltApp, body: str, content_type: str
) -> None:
    answer = await app.send(body, content_type=content_type)
    assert answer.status == 400
    assert answer.body.startswith("Unreadable request: ")
    assert app.changes() == []


async def test_bolts_own_dispatch_of_a_signed_request_reaches_the_listener(app: BoltApp) -> None:
    # As bolt-python's scenario tests do: a signed BoltRequest straight into async_dispatch.
    url = app.slack.new_response_url(channel=CHANNEL, user=ANA)
    body = urlencode(sr.slash_command("help", user_id=ANA, response_url=url))
    headers = sr.sign(body, SECRET, int(time.time()))
    answer = await app.runtime.bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert answer.status == 200
    assert "/sentry" in (await app.replies(url))[0]


async def test_a_command_whose_text_says_payload_reaches_sentry_command(app: BoltApp) -> None:
    url = app.slack.new_response_url(channel=CHANNEL, user=ANA)
    body = urlencode(sr.slash_command("help payload", user_id=ANA, response_url=url))
    assert (await app.send(body)).status == 200
    assert "no help for 'payload'" in (await app.replies(url))[0]


# ---- readable but not actionable: 200 and a word --------------------------------------------


async def test_an_unknown_control_is_acknowledged_and_explained(app: BoltApp) -> None:
    url = app.slack.new_response_url(channel=CHANNEL, message_ts="1700000000.000100")
    payload = click("issue.snooze", "1|42|snooze|", url, block_id="issue:42:controls:abc")
    answer = await app.interact(payload)
    assert (answer.status, answer.body) == (200, "")
    [reply] = await app.replies(url)
    assert "not one this version of the app knows" in reply
    assert "/sentry issue 42" in reply
    assert app.changes() == []


async def test_an_unknown_payload_type_is_acknowledged_and_explained(app: BoltApp) -> None:
    url = app.slack.new_response_url(channel=CHANNEL, user=ANA)
    payload = {"type": "shortcut", "callback_id": "x", "user": {"id": ANA}, "response_url": url}
    assert (await app.interact(payload)).status == 200
    assert (await app.interact({"type": "from_the_future", "user": {"id": ANA}})).status == 200
    assert "does not handle that kind of request" in (await app.replies(url))[0]


async def test_an_unknown_event_and_an_unknown_command_get_200(app: BoltApp) -> None:
    event = sr.event_callback({"type": "reaction_added", "user": ANA, "reaction": "eyes"})
    assert (await app.send(json.dumps(event), content_type=sr.JSON)).status == 200
    other = await app.send(urlencode(sr.slash_command("x", command="/other")))
    assert other.status == 200
    assert json.loads(other.body)["text"] == "This app only answers /sentry. Try /sentry help."


async def test_options_for_an_unknown_menu_are_an_empty_list(app: BoltApp) -> None:
    payload = sr.block_suggestion(
        ANA, "T111", CHANNEL, "1.2", action_id="issue.future", block_id="b", value="a"
    )
    answer = await app.interact(payload)
    assert (answer.status, json.loads(answer.body)) == (200, {"options": []})
    payload["action_id"], payload["block_id"] = "issue.assign", "issue:..:controls:r"
    answer = await app.interact(payload)
    assert (answer.status, json.loads(answer.body)) == (200, {"options": []})


async def test_an_unknown_dialog_is_replaced_by_an_explanation(app: BoltApp) -> None:
    answer = await app.interact(submission("dialog.from.the.future", "{}"))
    assert answer.status == 200
    reply = json.loads(answer.body)
    assert reply["response_action"] == "update"
    assert "another version of the app" in json.dumps(reply["view"])


# ---- ids that are not issues never reach Sentry ----------------------------------------------


@pytest.mark.parametrize("bad", BAD_ISSUE_IDS)
async def test_card_values_naming_no_issue_are_refused_before_sentry(
    app: BoltApp, bad: str
) -> None:
    url = app.slack.new_response_url(channel=CHANNEL, message_ts="1700000000.000100")
    answer = await app.interact(click("issue.resolve", f"1|{bad}|resolve|now", url))
    assert answer.status == 200
    assert "could not be read" in (await app.replies(url))[0]
    assert app.changes() == []


@pytest.mark.parametrize("action_id", ["issue.resolve", "issue.assign", "digest.triage"])
async def test_the_link_buttons_value_on_a_triage_control_changes_nothing(
    app: BoltApp, action_id: str
) -> None:
    url = app.slack.new_response_url(channel=CHANNEL, message_ts="1700000000.000100")
    answer = await app.interact(click(action_id, "1|42|open|", url))
    assert answer.status == 200
    assert "could not be read" in (await app.replies(url))[0]
    assert app.changes() == []


@pytest.mark.parametrize(
    "metadata",
    [
        *(json.dumps({"i": bad, "m": "events", "c": CHANNEL, "t": "1.2"}) for bad in BAD_ISSUE_IDS),
        "garbage",
        "",
        "[]",
        json.dumps({"i": "42", "m": "forever"}),
    ],
)
async def test_ignore_dialogs_naming_no_issue_get_an_error_not_a_request(
    app: BoltApp, metadata: str
) -> None:
    answer = await app.interact(submission(IGNORE_COUNT_CALLBACK, metadata))
    assert answer.status == 200
    reply = json.loads(answer.body)
    assert reply["response_action"] == "errors"
    assert "could not be read" in reply["errors"][COUNT_BLOCK]
    await settle()
    assert app.changes() == []


@pytest.mark.parametrize("bad", [".", "..", "1" * 40, "", "garbage"])
async def test_delete_dialogs_naming_no_issue_delete_nothing(app: BoltApp, bad: str) -> None:
    metadata = json.dumps({"i": bad, "s": "WEB-1", "c": CHANNEL}) if bad != "garbage" else bad
    answer = await app.interact(submission(DELETE_CONFIRM_CALLBACK, metadata))
    assert answer.status == 200
    assert json.loads(answer.body)["response_action"] == "update"
    await settle()
    assert app.changes() == []


# ---- the same promise for generated payloads -------------------------------------------------

BASES = [
    click("issue.resolve", "1|42|resolve|now", "https://hooks.slack.com/actions/T1/1/x"),
    click("digest.triage", "1|42|ignore|24h", "https://hooks.slack.com/actions/T1/1/x"),
    click("reply.share", '{"v":1,"t":"issues"}', "https://hooks.slack.com/actions/T1/1/x"),
    submission(IGNORE_COUNT_CALLBACK, json.dumps({"i": "42", "m": "users", "c": CHANNEL})),
    submission(DELETE_CONFIRM_CALLBACK, json.dumps({"i": "42", "s": "WEB-1", "c": CHANNEL})),
    sr.block_suggestion(
        ANA, "T111", CHANNEL, "1.2", action_id="issue.assign", block_id="issue:42:c:r", value="a"
    ),
    example("block_actions_button_message.json"),
    example("view_submission.json"),
]


def with_response_urls(value: Any, url: str) -> Any:
    """`value` with every `response_url` pointing to the fake Slack (tests stay on loopback)."""
    if isinstance(value, dict):
        return {
            key: url if key == "response_url" else with_response_urls(child, url)
            for key, child in value.items()
        }
    if isinstance(value, list):
        return [with_response_urls(child, url) for child in value]
    return value


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(payload=st.sampled_from(BASES).flatmap(mutated))
async def test_any_mutated_interaction_is_answered_and_only_valid_ids_reach_sentry(
    app: BoltApp, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    caplog.clear()
    payload = with_response_urls(payload, app.slack.new_response_url(channel=CHANNEL))
    for value in (payload, json.dumps(payload), BAD_ISSUE_IDS):
        answer = await app.interact(value)
        assert answer.status in (200, 400), (answer.status, answer.body)
    await settle()
    for request in app.changes():
        issue = ISSUE_PATH.search(request.path)
        assert issue is not None, request.path
        assert re.fullmatch(r"[1-9][0-9]{0,18}", issue.group(1)), request.path
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert failures == [], [r.getMessage() for r in failures]


# ---- a listener that fails still answers -----------------------------------------------------


async def test_a_listener_failing_right_after_its_ack_still_answers(app: BoltApp) -> None:
    bolt = build_app(client=app.runtime.slack, signing_secret=SECRET, verify_requests=True)

    async def explode(ack: Any) -> None:
        await ack()
        raise RuntimeError("boom")

    async def explode_first(ack: Any) -> None:
        raise RuntimeError("boom")

    bolt.action("test.explode")(answered(explode))
    bolt.command("/explode")(answered(explode_first))
    Fallbacks().register(bolt)
    endpoint = SlackHttpEndpoint(bolt, signing_secret=SECRET)
    url = app.slack.new_response_url(channel=CHANNEL, message_ts="1700000000.000100")
    body = sr.interactive_body(click("test.explode", "x", url))
    answer = await endpoint.answer(body.encode(), sr.sign(body, SECRET, int(time.time())))
    assert answer.status == 200
    assert "Something went wrong" in (await app.replies(url))[0]
    body = urlencode(sr.slash_command("", command="/explode", response_url=url))
    answer = await endpoint.answer(body.encode(), sr.sign(body, SECRET, int(time.time())))
    assert answer.status == 200
    assert "Something went wrong" in json.loads(answer.body)["text"]


async def test_slacks_ssl_check_and_url_verification_are_answered(app: BoltApp) -> None:
    assert (await app.send("ssl_check=1&token=x")).status == 200
    challenge = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    answer = await app.send(
        json.dumps(challenge | {"type": "url_verification"}), content_type=sr.JSON
    )
    assert answer.status == 200
    assert json.loads(answer.body) == {"challenge": challenge["challenge"]}
