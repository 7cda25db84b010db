"""Request builders produce what Slack sends: signing vector, form bodies, interaction payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.fakes import slack_requests as sr

EXAMPLES = Path(__file__).parents[1] / "fakes" / "slack_examples"

# Slack's worked example (docs.slack.dev/authentication/verifying-requests-from-slack),
# reproduced with slack_sdk 3.48 (`slack_sdk/signature/__init__.py`).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = 1531420618
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F"
    "T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def test_signing_reproduces_slacks_test_vector() -> None:
    headers = sr.sign(VECTOR_BODY, VECTOR_SECRET, VECTOR_TIMESTAMP)
    assert headers == {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": VECTOR_SIGNATURE,
    }


def test_signature_verifies_with_slack_sdk() -> None:
    body = sr.interactive_body({"type": "block_actions", "text": "ünïcode & <tags>"})
    headers = sr.sign(body, "s3cret", 1_700_000_000)

    class Clock:
        def now(self) -> float:
            return 1_700_000_000.0

    verifier = SignatureVerifier("s3cret", clock=Clock())  # type: ignore[arg-type]
    assert verifier.is_valid(body, "1700000000", headers["X-Slack-Signature"])
    assert not verifier.is_valid(body + "x", "1700000000", headers["X-Slack-Signature"])


def test_slash_command_matches_the_reference_fields_and_encoding() -> None:
    reference = example("slash_command_sentry.json")
    built = sr.slash_command("assign PROJ-123 @someone")
    reference_fields = {k: v for k, v in reference.items() if not k.startswith("enterprise")}
    assert built == reference_fields
    body = sr.form_body(built)
    assert "command=%2Fsentry" in body
    assert "text=assign+PROJ-123+%40someone" in body
    assert {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()} == built


def test_interactive_body_is_a_single_url_encoded_payload_field() -> None:
    payload = {"type": "block_actions", "actions": [{"value": "a&b=c"}]}
    body = sr.interactive_body(payload)
    assert body.startswith("payload=%7B")
    assert json.loads(parse_qs(body)["payload"][0]) == payload


def test_block_actions_for_a_button_matches_the_reference_click() -> None:
    reference = example("block_actions_button_message.json")
    message = reference["message"]
    action = sr.action_for(message["blocks"], "button", action_ts="1678252216.469172")
    built = sr.block_actions(
        "U111", "T0G9PQBBK", "C111", message, action, "http://localhost:8888/webhook"
    )
    assert action == reference["actions"][0]
    assert built["container"] == reference["container"]
    assert built["message"] == reference["message"]
    assert built["actions"] == reference["actions"]
    assert built["state"] == reference["state"]
    assert built["response_url"] == reference["response_url"]
    assert set(reference) <= set(built)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("block_actions_static_select_message.json", {"value": "resolve"}),
        ("block_actions_overflow_message.json", {"value": "open"}),
        ("block_actions_users_select_message.json", {"selected_user": "U222"}),
    ],
)
def test_action_for_selects_matches_the_reference(name: str, kwargs: dict[str, str]) -> None:
    reference = example(name)
    expected = reference["actions"][0]
    action = sr.action_for(
        reference["message"]["blocks"],
        expected["action_id"],
        action_ts=expected["action_ts"],
        **kwargs,
    )
    assert action == expected
    built = sr.block_actions(
        "U111", "T0G9PQBBK", "C111", reference["message"], action, reference["response_url"]
    )
    if name != "block_actions_overflow_message.json":
        assert built["state"] == reference["state"]


def test_action_for_unknown_ids_and_values_fail_loudly() -> None:
    blocks = example("block_actions_static_select_message.json")["message"]["blocks"]
    with pytest.raises(KeyError):
        sr.action_for(blocks, "nope")
    with pytest.raises(KeyError):
        sr.action_for(blocks, "issue_status", value="nope")


def test_block_suggestion_matches_the_reference_shape() -> None:
    reference = example("block_suggestion_message.json")
    built = sr.block_suggestion(
        "W111",
        "T111",
        "C111",
        "1678252213.679169",
        action_id="issue_assign_ext",
        block_id="issue_actions",
        value="ali",
    )
    for key in ("type", "container", "action_id", "block_id", "value", "api_app_id"):
        assert built[key] == reference[key]
    assert built["user"]["id"] == "W111"
    assert built["channel"]["id"] == "C111"


def test_view_submission_carries_the_view_and_its_state() -> None:
    reference = example("view_submission.json")
    view = {
        key: reference["view"][key]
        for key in ("blocks", "private_metadata", "callback_id", "title", "close", "submit")
    }
    values = reference["view"]["state"]["values"]
    built = sr.view_submission("W111", "T111", view, values)
    assert built["type"] == "view_submission"
    assert built["view"]["callback_id"] == "view-id"
    assert built["view"]["state"] == reference["view"]["state"]
    assert set(reference["view"]) <= set(built["view"])
    assert set(reference) <= set(built)
