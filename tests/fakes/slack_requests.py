"""What Slack sends to an app, built as pure functions, and a signed HTTP sender for HTTP mode.

Shapes (Slack docs: slash commands, interaction payloads; samples in `slack_examples/`):

- slash commands: flat form fields as in `slack_examples/slash_command_sentry.json`; over HTTP the
  body is those fields form-encoded, over Socket Mode the same fields are the envelope payload;
- `block_actions` modelled on `slack_examples/block_actions_button_message.json` (a click on a bot
  message: `container`, `channel`, the full `message`, `state`, `response_url`, `actions[]`), with
  the per-element action objects of the bolt-js types (`src/types/actions/block-action.ts`:
  button, static_select, users_select, overflow, external_select);
- `block_suggestion` (`slack_examples/block_suggestion_message.json`) and `view_submission`
  (`slack_examples/view_submission.json`);
- interactivity over HTTP is `payload=<url-encoded JSON>`; Events API bodies are JSON
  (bolt-python `slack_bolt/request/internals.py`, `parse_body`);
- Events API deliveries (`event_callback`, `event_request`, `send_event`): the callback wrapper
  of Slack's Events API docs, a unique `event_id` per delivery, signed like every request, and
  `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` on redeliveries.

Signing per Slack's "Verifying requests from Slack"
(docs.slack.dev/authentication/verifying-requests-from-slack/, python-slack-sdk
`slack_sdk/signature/`): `v0=` + hex HMAC-SHA256 of `v0:<ts>:<raw body>` under the signing
secret, with `X-Slack-Request-Timestamp`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def slash_command(
    text: str,
    *,
    command: str = "/sentry",
    user_id: str = "W111",
    user_name: str = "primary-owner",
    team_id: str = "T111",
    team_domain: str = "test-domain",
    channel_id: str = "C111",
    channel_name: str = "random",
    response_url: str = "https://hooks.slack.com/commands/T111/111/xxxxx",
    trigger_id: str = "111.111.xxx",
    api_app_id: str = "A111",
) -> dict[str, str]:
    """A slash command's fields (all strings, as Slack form-encodes them)."""
    return {
        "token": "verification_token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def form_body(fields: Mapping[str, str]) -> str:
    """The HTTP body of a slash command: `urllib.parse.urlencode` of its fields."""
    return urlencode(fields)


def interactive_body(payload: Mapping[str, Any]) -> str:
    """The HTTP body of an interaction: a single form field `payload=<url-encoded JSON>`."""
    return "payload=" + quote(json.dumps(payload, separators=(",", ":")))


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the interactive element with `action_id` in a message's blocks."""
    for index, block in enumerate(blocks):
        block_id = block.get("block_id") or f"b{index}"
        candidates = list(block.get("elements", []))
        if "accessory" in block:
            candidates.append(block["accessory"])
        if "element" in block:
            candidates.append(block["element"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block_id, element
    raise KeyError(f"no element with action_id {action_id!r}")


def action_for(
    blocks: list[dict[str, Any]],
    action_id: str,
    *,
    value: str | None = None,
    selected_user: str | None = None,
    action_ts: str = "1700000999.000001",
) -> dict[str, Any]:
    """The `actions[0]` object Slack sends when a user operates the element `action_id`.

    Buttons report their own value; for selects and overflow menus `value` picks the option with
    that value (external selects get a synthetic option); users_select takes `selected_user`.
    """
    block_id, element = find_element(blocks, action_id)
    kind = element["type"]
    action: dict[str, Any] = {"type": kind, "action_id": action_id, "block_id": block_id}
    if kind == "button":
        action["text"] = copy.deepcopy(element["text"])
        if "value" in element:
            action["value"] = element["value"]
        for key in ("style", "url"):
            if key in element:
                action[key] = element[key]
    elif kind in {"static_select", "overflow"}:
        action["selected_option"] = _pick_option(element, value)
    elif kind == "external_select":
        if value is None:
            raise ValueError("external_select needs value=")
        action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    elif kind == "users_select":
        if selected_user is None:
            raise ValueError("users_select needs selected_user=")
        action["selected_user"] = selected_user
    if "placeholder" in element:
        action["placeholder"] = copy.deepcopy(element["placeholder"])
    action["action_ts"] = action_ts
    return action


def _pick_option(element: Mapping[str, Any], value: str | None) -> dict[str, Any]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    for option in options:
        if value is None or option.get("value") == value:
            return copy.deepcopy(option)
    raise KeyError(f"no option with value {value!r}")


def _state_for(action: Mapping[str, Any]) -> dict[str, Any]:
    kind = action["type"]
    if kind in {"static_select", "external_select"}:
        entry = {"type": kind, "selected_option": action["selected_option"]}
    elif kind == "users_select":
        entry = {"type": kind, "selected_user": action["selected_user"]}
    else:
        return {"values": {}}
    return {"values": {action["block_id"]: {action["action_id"]: entry}}}


def block_actions(
    user_id: str,
    team_id: str,
    channel_id: str,
    message: Mapping[str, Any],
    action: Mapping[str, Any],
    response_url: str,
    *,
    trigger_id: str = "4916855695380.xxx.yyy",
    api_app_id: str = "A111",
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A click on a message (`message` as Slack stores it, e.g. `FakeSlack.message(...).as_slack()`;
    `action` from `action_for`)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id},
        "message": copy.deepcopy(dict(message)),
        "state": _state_for(action),
        "response_url": response_url,
        "actions": [copy.deepcopy(dict(action))],
    }


def block_suggestion(
    user_id: str,
    team_id: str,
    channel_id: str,
    message_ts: str,
    *,
    action_id: str,
    block_id: str,
    value: str,
    api_app_id: str = "A111",
) -> dict[str, Any]:
    """An external_select asking for options as the user types `value` (in a message)."""
    return {
        "type": "block_suggestion",
        "user": {"id": user_id, "team_id": team_id},
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "api_app_id": api_app_id,
        "token": "verification_token",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": team_id},
        "channel": {"id": channel_id},
    }


def view_submission(
    user_id: str,
    team_id: str,
    view: Mapping[str, Any],
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    view_id: str = "V111",
    api_app_id: str = "A111",
    trigger_id: str = "111.222.valid",
) -> dict[str, Any]:
    """A modal submitted with `values` as `state.values` ({block_id: {action_id: {type, value}}});
    `view` is what the app opened (blocks, callback_id, private_metadata, title …)."""
    submitted = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "private_metadata": "",
        "callback_id": "",
        "hash": "1596530361.3wRYuk3R",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "B111",
        **copy.deepcopy(dict(view)),
        "state": {"values": copy.deepcopy({k: dict(v) for k, v in values.items()})},
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification_token",
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
    }


_EVENT_IDS = itertools.count(1)


def event_callback(
    event: Mapping[str, Any],
    *,
    team_id: str = "T111",
    api_app_id: str = "A111",
    is_ext_shared_channel: bool = False,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The Events API wrapper around `event` (`slack_examples/events_api_app_mention.json`;
    Slack docs: Events API, "Callback field overview").

    `event_id` is "globally unique across all workspaces" (the key a receiver dedupes retries
    by), so each call makes a new one unless a retry of an earlier delivery passes it again.
    """
    event_time = int(time.time())
    event_type = str(event.get("type", ""))
    channel = str(event.get("channel") or event.get("channel_id") or "")
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": copy.deepcopy(dict(event)),
        "type": "event_callback",
        "event_id": event_id or f"Ev{event_time:X}{next(_EVENT_IDS):06d}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "W23456789",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": f"1-{event_type}-{team_id}-{channel}",
        "context_team_id": team_id,
        "context_enterprise_id": None,
    }


def event_body(callback: Mapping[str, Any]) -> str:
    """The HTTP body of an Events API delivery: the callback as JSON (Slack docs: Events API,
    "the event is sent as JSON in the body of an HTTP POST")."""
    return json.dumps(callback, separators=(",", ":"))


def event_request(
    callback: Mapping[str, Any],
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> tuple[str, dict[str, str]]:
    """Body and headers of one signed Events API delivery over HTTP.

    A redelivery (`retry_num` 1 to 3) carries `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`
    (Slack docs: Events API, "Retries"; reasons `http_timeout`, `too_many_redirects`,
    `connection_failed`, `ssl_error`, `http_error`, `unknown_error`)."""
    body = event_body(callback)
    headers = sign(body, secret, timestamp or int(time.time()), content_type=JSON)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers


def send_event(
    bot_url: str,
    callback: Mapping[str, Any],
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    timeout: float = 10.0,
) -> BotReply:
    """Deliver an Events API callback to the app's Request URL as Slack does (signed JSON POST);
    Slack counts any answer but a 2xx within 3 seconds as a failed delivery."""
    body, headers = event_request(
        callback, secret, timestamp=timestamp, retry_num=retry_num, retry_reason=retry_reason
    )
    return post_to_bot(bot_url, body, headers, timeout=timeout)


def signature(body: str, secret: str, timestamp: int) -> str:
    """`v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<body>`), as Slack signs requests."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(body: str, secret: str, timestamp: int, *, content_type: str = FORM) -> dict[str, str]:
    """The headers Slack sends with `body`: content type, timestamp and signature."""
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, secret, timestamp),
    }


@dataclass(frozen=True)
class BotReply:
    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    """Seconds from sending the request to the complete response (Slack's 3-second budget)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def post_to_bot(
    bot_url: str, body: str, headers: Mapping[str, str], *, timeout: float = 10.0
) -> BotReply:
    """POST `body` (exact bytes, as signed) to the app's Slack endpoint, e.g.
    `http://127.0.0.1:3000/slack/events`."""
    started = time.monotonic()
    with httpx.Client(timeout=timeout) as client:
        response = client.post(bot_url, content=body.encode(), headers=dict(headers))
    return BotReply(
        status=response.status_code,
        body=response.text,
        headers=dict(response.headers),
        elapsed=time.monotonic() - started,
    )
