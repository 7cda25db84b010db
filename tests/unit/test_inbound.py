"""Reading what Slack sends: every body is a checked dict or `UnreadableRequest`, nothing else."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.inbound import MAX_DEPTH, UnreadableRequest, read_http_body, read_payload
from tests.fakes import slack_requests as sr
from tests.hostile import deep, example, json_values, mutated

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

EXAMPLES = [
    "block_actions_button_message.json",
    "block_actions_button_minimal.json",
    "block_actions_overflow_message.json",
    "block_actions_static_select_message.json",
    "block_actions_users_select_message.json",
    "block_suggestion_message.json",
    "block_suggestion_view.json",
    "view_submission.json",
]


@pytest.mark.parametrize("name", EXAMPLES)
def test_slacks_own_interaction_payloads_read_back_unchanged(name: str) -> None:
    payload = example(name)
    assert read_http_body(sr.interactive_body(payload).encode(), FORM) == payload
    assert read_payload(payload) == payload


def test_slash_commands_and_events_read_back_unchanged() -> None:
    fields = example("slash_command_sentry.json")
    assert read_http_body(urlencode(fields).encode(), FORM) == fields
    for name in ("events_api_app_mention.json", "events_api_link_shared.json"):
        event = example(name)
        raw = json.dumps(event).encode()
        assert read_http_body(raw, "application/json; charset=utf-8") == event


@pytest.mark.parametrize(
    "name",
    [
        "socket_mode_envelope_interactive_block_actions_button.json",
        "socket_mode_envelope_interactive_block_actions_static_select_modal.json",
        "socket_mode_envelope_interactive_shortcut.json",
        "socket_mode_envelope_slash_commands.json",
        "socket_mode_envelope_events_api_app_mention.json",
    ],
)
def test_socket_mode_payloads_read_back_unchanged(name: str) -> None:
    payload = example(name)["payload"]
    assert read_payload(payload) == payload


def test_a_command_whose_text_says_payload_is_still_a_command() -> None:
    # Bolt's own body parser reads any form containing "payload" as an interaction.
    fields = sr.slash_command('issues "payload too large"')
    assert read_http_body(urlencode(fields).encode(), FORM)["text"] == 'issues "payload too large"'


def test_ssl_check_is_readable() -> None:
    assert read_http_body(b"ssl_check=1&token=x", FORM) == {"ssl_check": "1", "token": "x"}


@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [
        (b"payload=notjson", FORM, "not JSON"),
        (b"payload=" + quote("[1,2]").encode(), FORM, "not a JSON object"),
        (b"payload=" + quote('"text"').encode(), FORM, "not a JSON object"),
        (b"payload=" + quote("null").encode(), FORM, "not a JSON object"),
        (b"[1]", JSON, "not a JSON object"),
        (b"{", JSON, "not JSON"),
        (b"\xff\xfe", FORM, "not UTF-8"),
        (b"payload=%ff", FORM, "cannot be read"),
        (b"<xml/>", "text/xml", "content type"),
        (b"a=1", FORM, "neither a command nor a typed payload"),
        (b"{}", JSON, "neither a command nor a typed payload"),
        (b"payload=" + quote('{"type": 5}').encode(), FORM, "payload.type is not a string"),
        (b"payload=" + quote('{"type": "block_actions"}').encode(), FORM, "actions is missing"),
        (
            b"payload="
            + quote('{"type": "block_actions", "user": {"id": "U1"}, "actions": []}').encode(),
            FORM,
            "is empty",
        ),
        (
            b"payload=" + quote('{"type": "block_actions", "actions": ["x"]}').encode(),
            FORM,
            "actions[0] is not an object",
        ),
        (
            b"payload=" + quote('{"type": "block_actions", "actions": [{}]}').encode(),
            FORM,
            "action_id is missing",
        ),
        (
            b"payload="
            + quote(
                '{"type": "view_submission", "user": {"id": "U1"}, "view": {"type": "modal"}}'
            ).encode(),
            FORM,
            "callback_id is missing",
        ),
        (b"payload=" + quote('{"type": "x", "team": [1]}').encode(), FORM, "team"),
        (b"payload=" + quote('{"type": "x", "authorizations": "ab"}').encode(), FORM, "list"),
        (b"payload=" + quote('{"type": "x", "event": null}').encode(), FORM, "event"),
        (b"payload=" + quote('{"type": "x", "response_url": "ftp://a"}').encode(), FORM, "URL"),
        (b"payload=" + quote('{"type": "x", "text": "\\ud800"}').encode(), FORM, "Unicode"),
        (b"[" * 100_000, JSON, "nested too deeply"),
        (
            b"payload="
            + quote('{"type": "block_actions", "actions": [{"action_id": "a"}]}').encode(),
            FORM,
            "user.id is missing",
        ),
        (
            b"payload=" + quote('{"type": "x", "user": {"id": "u1; drop"}}').encode(),
            FORM,
            "not a Slack id",
        ),
        (b"command=%2Fsentry&text=help&user_id=U1", FORM, "response_url is missing"),
    ],
)
def test_unreadable_bodies_say_why(raw: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(UnreadableRequest, match=reason.replace("[", r"\[").replace("]", r"\]")):
        read_http_body(raw, content_type)


def test_nesting_is_bounded() -> None:
    read_payload({"type": "x", "extra": deep(MAX_DEPTH - 2)})
    with pytest.raises(UnreadableRequest, match="nested deeper"):
        read_payload({"type": "x", "extra": deep(MAX_DEPTH + 1)})


def test_too_many_form_fields_are_refused() -> None:
    with pytest.raises(UnreadableRequest):
        read_http_body("&".join(f"f{n}=1" for n in range(500)).encode(), FORM)


def _checked_or_refused(read: Any) -> dict[str, Any] | None:
    """What `read` returns (a dict), or None when it raised `UnreadableRequest` with a reason."""
    try:
        result: dict[str, Any] | UnreadableRequest = read()
    except UnreadableRequest as exc:
        result = exc
    if isinstance(result, UnreadableRequest):
        assert str(result)
        return None
    assert isinstance(result, dict)
    return result


@given(json_values)
def test_any_json_payload_is_read_or_refused(value: Any) -> None:
    _checked_or_refused(lambda: read_payload(value))
    body = sr.interactive_body({"payload": value}).encode()
    _checked_or_refused(lambda: read_http_body(body, FORM))
    _checked_or_refused(lambda: read_http_body(json.dumps(value).encode(), JSON))


@given(st.binary(max_size=300), st.sampled_from([FORM, JSON, None, "text/plain", ""]))
def test_any_bytes_are_read_or_refused(raw: bytes, content_type: str | None) -> None:
    _checked_or_refused(lambda: read_http_body(raw, content_type))


@given(st.sampled_from(EXAMPLES).flatmap(lambda name: mutated(example(name))))
def test_mutated_interactions_are_read_or_refused(payload: dict[str, Any]) -> None:
    read = _checked_or_refused(lambda: read_http_body(sr.interactive_body(payload).encode(), FORM))
    if read is not None:
        assert read == payload


@given(st.dictionaries(st.sampled_from(list(example("slash_command_sentry.json"))), st.text()))
def test_any_form_fields_are_read_or_refused(fields: dict[str, str]) -> None:
    _checked_or_refused(lambda: read_http_body(urlencode(fields).encode(), FORM))
