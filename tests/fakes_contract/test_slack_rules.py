"""The fake Slack refuses what Slack refuses, the way Slack does: one row per rule.

Each row posts one bad Web API call with plain httpx (JSON like slack_sdk, or a form) and
compares the answer with Slack's (status, `error`, and the fields Slack adds). One server for
the module; rows that need a particular token or message set it up in the world fixture.
Sources are listed in tests/fakes/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.fakes.slack_method_rules import MANIFEST_BOT_SCOPES
from tests.fakes.slack_server import FakeSlack

NARROW_TOKEN = "xoxb-narrow-0001"  # only `commands`: every scoped method is refused
REVOKED_TOKEN = "xoxb-revoked-0002"
INACTIVE_TOKEN = "xoxb-inactive-0003"
READER_TOKEN = "xoxb-reader-0005"  # the manifest's scopes plus channels:read
CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "*card*"}}]


@dataclass(frozen=True)
class Call:
    """A Web API call and Slack's answer; `{mine}`/`{theirs}` are a bot and a person's message.

    `token`: "bot" (the bot token), "none", or a literal token. `expect` holds the fields the
    answer must have besides `ok: false` (None for a success that carries a warning)."""

    method: str
    args: dict[str, Any]
    error: str | None
    expect: dict[str, Any] = field(default_factory=dict)
    token: str = "bot"
    form: bool = False
    status: int = 200


def missing(*names: str) -> dict[str, Any]:
    messages = [f"[ERROR] missing required field: {name}" for name in names]
    return {"response_metadata": {"messages": messages}}


def scope(needed: str) -> dict[str, Any]:
    return {"needed": needed, "provided": "commands"}


POST = {"channel": "C111", "text": "hello"}

CALLS: dict[str, Call] = {
    # authentication (Slack OpenAPI error enums; bolt-python `tests/mock_web_api_server/`)
    "no_token": Call("chat.postMessage", POST, "not_authed", token="none"),
    "unknown_token": Call("chat.postMessage", POST, "invalid_auth", token="xoxb-unknown"),
    "revoked_token": Call("chat.postMessage", POST, "token_revoked", token=REVOKED_TOKEN),
    "inactive_account": Call("chat.postMessage", POST, "account_inactive", token=INACTIVE_TOKEN),
    "app_token_on_bot_method": Call(
        "chat.postMessage", POST, "not_allowed_token_type", token="app"
    ),
    "unknown_method": Call("chat.postMassage", POST, "unknown_method", status=404),
    # scopes (docs.slack.dev/reference/methods/*: "Required scopes")
    "post_needs_chat_write": Call(
        "chat.postMessage", POST, "missing_scope", scope("chat:write"), token=NARROW_TOKEN
    ),
    "update_needs_chat_write": Call(
        "chat.update",
        {"channel": "C111", "ts": "{mine}", "text": "x"},
        "missing_scope",
        scope("chat:write"),
        token=NARROW_TOKEN,
    ),
    "ephemeral_needs_chat_write": Call(
        "chat.postEphemeral",
        {"channel": "C111", "user": "U111", "text": "x"},
        "missing_scope",
        scope("chat:write"),
        token=NARROW_TOKEN,
    ),
    "delete_needs_chat_write": Call(
        "chat.delete",
        {"channel": "C111", "ts": "{mine}"},
        "missing_scope",
        scope("chat:write"),
        token=NARROW_TOKEN,
    ),
    "users_info_needs_users_read": Call(
        "users.info", {"user": "U111"}, "missing_scope", scope("users:read"), token=NARROW_TOKEN
    ),
    "lookup_needs_users_read_email": Call(
        "users.lookupByEmail",
        {"email": "ada@example.com"},
        "missing_scope",
        scope("users:read.email"),
        token=NARROW_TOKEN,
    ),
    "history_public_needs_channels_history": Call(
        "conversations.history",
        {"channel": "C111"},
        "missing_scope",
        scope("channels:history"),
        token=NARROW_TOKEN,
    ),
    "history_private_needs_groups_history": Call(
        "conversations.history",
        {"channel": "G111"},
        "missing_scope",
        scope("groups:history"),
        token=NARROW_TOKEN,
    ),
    "info_not_in_the_manifest": Call(
        "conversations.info",
        {"channel": "C111"},
        "missing_scope",
        {"needed": "channels:read", "provided": ",".join(sorted(MANIFEST_BOT_SCOPES))},
    ),
    # absent required arguments (brekkylab/backlot#84, java-slack-sdk#302)
    "post_without_channel": Call(
        "chat.postMessage", {"text": "x"}, "invalid_arguments", missing("channel")
    ),
    "update_without_ts": Call(
        "chat.update", {"channel": "C111", "text": "x"}, "invalid_arguments", missing("ts")
    ),
    "ephemeral_without_user": Call(
        "chat.postEphemeral", {"channel": "C111", "text": "x"}, "invalid_arguments", missing("user")
    ),
    "delete_without_channel_and_ts": Call(
        "chat.delete", {}, "invalid_arguments", missing("channel", "ts")
    ),
    "permalink_without_message_ts": Call(
        "chat.getPermalink", {"channel": "C111"}, "invalid_arguments", missing("message_ts")
    ),
    "users_info_without_user": Call("users.info", {}, "invalid_arguments", missing("user")),
    "lookup_without_email": Call("users.lookupByEmail", {}, "invalid_arguments", missing("email")),
    "info_without_channel": Call(
        "conversations.info", {}, "invalid_arguments", missing("channel"), token=READER_TOKEN
    ),
    "views_open_without_view": Call(
        "views.open", {"trigger_id": "1.2.abc"}, "invalid_arguments", missing("view")
    ),
    "views_update_without_view": Call(
        "views.update", {"view_id": "V1"}, "invalid_arguments", missing("view")
    ),
    "as_user_is_deprecated": Call(
        "chat.postMessage",
        {**POST, "as_user": True},
        "invalid_arguments",
        {"deprecated_argument": "as_user"},
    ),
    # arguments present but wrong (Slack OpenAPI error enums)
    "post_to_empty_channel": Call(
        "chat.postMessage", {"channel": "", "text": "x"}, "channel_not_found"
    ),
    "post_to_unknown_channel": Call(
        "chat.postMessage", {"channel": "C999", "text": "x"}, "channel_not_found"
    ),
    "post_to_archived_channel": Call(
        "chat.postMessage", {"channel": "C333", "text": "x"}, "is_archived"
    ),
    "post_without_text_or_blocks": Call("chat.postMessage", {"channel": "C111"}, "no_text"),
    "post_invalid_blocks": Call(
        "chat.postMessage",
        {"channel": "C111", "text": "x", "blocks": [{"type": "section"}]},
        "invalid_blocks",
    ),
    "post_blocks_not_json": Call(
        "chat.postMessage",
        {"channel": "C111", "text": "x", "blocks": "[{"},
        "invalid_blocks_format",
        form=True,
    ),
    "post_metadata_without_payload": Call(
        "chat.postMessage",
        {**POST, "metadata": {"event_type": "sentry_issue"}},
        "invalid_metadata_format",
    ),
    "update_text_too_long": Call(
        "chat.update", {"channel": "C111", "ts": "{mine}", "text": "x" * 40_001}, "msg_too_long"
    ),
    "ephemeral_text_too_long": Call(
        "chat.postEphemeral",
        {"channel": "C111", "user": "U111", "text": "x" * 40_001},
        "msg_too_long",
    ),
    "update_unknown_message": Call(
        "chat.update", {"channel": "C111", "ts": "1.000001", "text": "x"}, "message_not_found"
    ),
    "update_an_ephemeral": Call(
        "chat.update", {"channel": "C111", "ts": "{ephemeral}", "text": "x"}, "message_not_found"
    ),
    "delete_an_ephemeral": Call(
        "chat.delete", {"channel": "C111", "ts": "{ephemeral}"}, "message_not_found"
    ),
    "update_someone_elses_message": Call(
        "chat.update", {"channel": "C111", "ts": "{theirs}", "text": "x"}, "cant_update_message"
    ),
    "update_in_unknown_channel": Call(
        "chat.update", {"channel": "C999", "ts": "{mine}", "text": "x"}, "channel_not_found"
    ),
    "update_without_text_or_blocks": Call(
        "chat.update", {"channel": "C111", "ts": "{mine}"}, "no_text"
    ),
    "delete_someone_elses_message": Call(
        "chat.delete", {"channel": "C111", "ts": "{theirs}"}, "cant_delete_message"
    ),
    "ephemeral_to_unknown_user": Call(
        "chat.postEphemeral", {"channel": "C111", "user": "U404", "text": "x"}, "user_not_found"
    ),
    "ephemeral_to_non_member": Call(
        "chat.postEphemeral",
        {"channel": "C444", "user": "U111", "text": "x"},
        "user_not_in_channel",
    ),
    "users_info_unknown_user": Call("users.info", {"user": "U404"}, "user_not_found"),
    "lookup_unknown_email": Call(
        "users.lookupByEmail", {"email": "nobody@example.com"}, "users_not_found"
    ),
    "views_open_used_trigger": Call(
        "views.open",
        {"trigger_id": "used.trigger", "view": {"type": "modal"}},
        "invalid_arguments",
        {"response_metadata": {"messages": ["invalid `trigger_id`"]}},
    ),
    "views_update_unknown_view": Call(
        "views.update",
        {
            "view_id": "V404",
            "view": {
                "type": "modal",
                "title": {"type": "plain_text", "text": "t"},
                "blocks": [],
            },
        },
        "not_found",
    ),
}


@dataclass(frozen=True)
class World:
    slack: FakeSlack
    refs: dict[str, str]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with FakeSlack(ts_base=1_700_000_000) as slack:
        slack.add_channel("C111", "alerts")
        slack.add_channel("G111", "private-alerts", is_private=True)
        slack.add_channel("C333", "old", archived=True)
        slack.add_channel("C444", "closed", members={"U222"})
        slack.add_user("U111", "ada@example.com", "ada")
        slack.add_user("U222", "bob@example.com", "bob")
        for token in (NARROW_TOKEN, REVOKED_TOKEN, INACTIVE_TOKEN, READER_TOKEN):
            slack.add_token(token)
        slack.set_scopes([*MANIFEST_BOT_SCOPES, "channels:read"], token=READER_TOKEN)
        slack.set_scopes(["commands"], token=NARROW_TOKEN)
        slack.set_token_state("token_revoked", token=REVOKED_TOKEN)
        slack.set_token_state("account_inactive", token=INACTIVE_TOKEN)
        slack.expire_trigger("used.trigger")
        mine = call(slack, "chat.postMessage", POST).json()["ts"]
        theirs = slack.add_user_message("C111", "U111", "a person wrote this")
        ephemeral = call(
            slack, "chat.postEphemeral", {"channel": "C111", "user": "U111", "text": "psst"}
        ).json()["message_ts"]
        yield World(slack, {"mine": mine, "theirs": theirs, "ephemeral": ephemeral})


def call(
    slack: FakeSlack,
    method: str,
    args: dict[str, Any],
    *,
    token: str | None = None,
    form: bool = False,
) -> httpx.Response:
    headers = {} if token == "none" else {"Authorization": f"Bearer {token or slack.bot_token}"}
    url = slack.api_url + method
    if form:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}
        return httpx.post(url, data=data, headers=headers, timeout=5)
    return httpx.post(url, json=args, headers=headers, timeout=5)


def _resolve(value: Any, refs: dict[str, str]) -> Any:
    return value.format(**refs) if isinstance(value, str) and "{" in value[:1] else value


@pytest.mark.parametrize("name", sorted(CALLS))
def test_refusal(world: World, name: str) -> None:
    rule = CALLS[name]
    token = {"bot": None, "app": world.slack.app_token}.get(rule.token, rule.token)
    args = {key: _resolve(value, world.refs) for key, value in rule.args.items()}
    posted_before = len(world.slack.messages("C111"))
    response = call(world.slack, rule.method, args, token=token, form=rule.form)
    assert response.status_code == rule.status
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == rule.error
    for key, value in rule.expect.items():
        assert body[key] == value
    assert len(world.slack.messages("C111")) == posted_before  # a refusal posts nothing


def test_every_answer_names_the_token_scopes(world: World) -> None:
    response = call(world.slack, "auth.test", {})
    assert response.headers["x-oauth-scopes"] == ",".join(sorted(MANIFEST_BOT_SCOPES))
    narrow = call(world.slack, "users.info", {"user": "U111"}, token=NARROW_TOKEN)
    assert narrow.headers["x-oauth-scopes"] == "commands"


def test_email_needs_users_read_email(world: World) -> None:
    with_email = call(world.slack, "users.info", {"user": "U111"}).json()
    assert with_email["user"]["profile"]["email"] == "ada@example.com"
    token = "xoxb-no-email-0004"
    world.slack.add_token(token)
    world.slack.set_scopes(["users:read"], token=token)
    without = call(world.slack, "users.info", {"user": "U111"}, token=token).json()
    assert without["ok"] is True
    assert "email" not in without["user"]["profile"]


def test_post_message_truncates_rather_than_refusing(world: World) -> None:
    body = call(world.slack, "chat.postMessage", {"channel": "C111", "text": "y" * 40_001}).json()
    assert body["ok"] is True
    assert body["warning"] == "message_truncated"


@pytest.mark.parametrize(
    ("content", "error"), [(b"{not json", "invalid_json"), (b"[1, 2]", "json_not_object")]
)
def test_json_body_must_be_an_object(world: World, content: bytes, error: str) -> None:
    response = httpx.post(
        world.slack.api_url + "chat.postMessage",
        content=content,
        headers={
            "Authorization": f"Bearer {world.slack.bot_token}",
            "Content-Type": "application/json",
        },
        timeout=5,
    )
    assert response.json() == {"ok": False, "error": error}


def test_token_in_a_json_body_is_ignored(world: World) -> None:
    response = httpx.post(
        world.slack.api_url + "chat.postMessage",
        json={**POST, "token": world.slack.bot_token},
        timeout=5,
    )
    assert response.json() == {"ok": False, "error": "not_authed"}


def test_posting_too_fast_is_429_with_retry_after(world: World) -> None:
    world.slack.enforce_post_rate(1.0, burst=1)
    try:
        first = call(world.slack, "chat.postMessage", {"channel": "G111", "text": "1"})
        second = call(world.slack, "chat.postMessage", {"channel": "G111", "text": "2"})
    finally:
        world.slack.enforce_post_rate(None)
    assert first.json()["ok"] is True
    assert second.status_code == 429
    assert second.json() == {"ok": False, "error": "ratelimited"}
    assert int(second.headers["Retry-After"]) >= 1
