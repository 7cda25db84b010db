"""What Slack sends, read at the door: a signed body or Socket Mode payload becomes a checked dict.

Pure: bytes (or a parsed payload) in, a dict whose every field that Bolt or this app reads has the
JSON type Slack documents, or `UnreadableRequest` naming the first field that does not.

Transport (Slack docs: "Handling user interaction", "Slash commands", Events API; bolt-python
`slack_bolt/request/internals.py` `parse_body`): slash commands are flat
`application/x-www-form-urlencoded` fields; interactivity is the same content type with one field,
`payload`, holding JSON; the Events API posts `application/json`. Bolt itself would also take a
form body starting with `{` as JSON and turns any form body containing the word "payload" without a
`payload` field into nothing (a `/sentry` command whose text says "payload" got lost that way), so
the body read here is the one handed to Bolt.

Shape: Bolt reads a fixed set of fields while it builds its context and matches listeners
(`extract_team_id`, `to_action`, `to_step`, the action, options and view matchers); a field of
another type there raises inside Bolt (`"id" in 5`, `body["actions"][0]` of a string). Those fields
are checked here, with the fields the listeners read, so that anything that passes is safe to
dispatch. Beyond them, every string must be valid Unicode (no lone surrogates: they cannot be
stored or sent on) and nesting is bounded, as no Slack payload comes near `MAX_DEPTH`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

FORM: Final = "application/x-www-form-urlencoded"
JSON_TYPE: Final = "application/json"
MAX_DEPTH: Final = 64
MAX_FORM_FIELDS: Final = 100

Check = Callable[[object, str], None]


class UnreadableRequest(ValueError):
    """A signed request that is not a Slack request this app can read; the message names why."""


def _fail(path: str, what: str) -> UnreadableRequest:
    return UnreadableRequest(f"{path} {what}")


def _string(value: object, path: str) -> None:
    if not isinstance(value, str):
        raise _fail(path, "is not a string")


def _optional_string(value: object, path: str) -> None:
    if value is not None and not isinstance(value, str):
        raise _fail(path, "is not a string or null")


def _obj(fields: Mapping[str, Check] | None = None, *, required: tuple[str, ...] = ()) -> Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, "is not an object")
        for name in required:
            if name not in value:
                raise _fail(f"{path}.{name}", "is missing")
        for name, field_check in (fields or {}).items():
            if name in value:
                field_check(value[name], f"{path}.{name}")

    return check


def _list_of(item: Check, *, non_empty: bool = False) -> Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, list):
            raise _fail(path, "is not a list")
        if non_empty and not value:
            raise _fail(path, "is empty")
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]")

    return check


_SLACK_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")


def _slack_id(value: object, path: str) -> None:
    """A Slack id (`T…`, `U…`, `W…`, `C…`, `E…`): Slack's ids are upper-case letters and digits.
    The app passes them back to Slack and stores them, so nothing else may pass for one."""
    if value is not None and not (isinstance(value, str) and _SLACK_ID.fullmatch(value)):
        raise _fail(path, "is not a Slack id")


def _url(value: object, path: str) -> None:
    """A `response_url`: Slack's own https URL, where the app posts replies."""
    if (
        not isinstance(value, str)
        or not value.startswith(("https://", "http://"))
        or len(value) > 2000
    ):
        raise _fail(path, "is not a URL")


def _party(value: object, path: str) -> None:
    """`team`, `user`, `channel`, `enterprise`: null, an id, or an object with string ids."""
    if value is None or isinstance(value, str):
        _slack_id(value, path)
        return
    _obj({"id": _slack_id, "team_id": _slack_id, "name": _optional_string})(value, path)


_IDS: Final[Mapping[str, Check]] = {
    "team_id": _slack_id,
    "user_id": _slack_id,
    "channel_id": _slack_id,
    "enterprise_id": _slack_id,
}

_OPTION = _obj({"value": _string})
_ACTION = _obj(
    {
        "action_id": _string,
        "block_id": _string,
        "type": _string,
        "value": _string,
        "action_ts": _string,
        "selected_user": _optional_string,
        "selected_option": lambda value, path: None if value is None else _OPTION(value, path),
    },
    required=("action_id",),
)
_STATE = _obj({"values": _obj()})
_VIEW = _obj(
    {
        "id": _string,
        "type": _string,
        "callback_id": _string,
        "private_metadata": _string,
        "hash": _string,
        "state": _STATE,
        "blocks": _list_of(_obj()),
        "app_installed_team_id": _optional_string,
        "team_id": _optional_string,
    }
)
_MESSAGE = _obj({"ts": _string, "text": _string, "blocks": _list_of(_obj()), **_IDS})
_EVENT = _obj(
    {
        "type": _string,
        "user": _slack_id,
        "channel": _slack_id,
        "team": _slack_id,
        "user_team": _slack_id,
        "thread_ts": _optional_string,
        "subtype": _optional_string,
        "channel_type": _optional_string,
        "message": _obj(),
        "previous_message": _obj(),
    },
    required=("type",),
)

_FIELDS: Final[Mapping[str, Check]] = {
    **_IDS,
    "type": _string,
    "command": _string,
    "text": _string,
    "token": _string,
    "api_app_id": _string,
    "trigger_id": _string,
    "callback_id": _string,
    "action_id": _string,
    "block_id": _string,
    "value": _string,
    "response_url": _url,
    "challenge": _string,
    "thread_ts": _optional_string,
    "team": _party,
    "user": _party,
    "channel": _party,
    "enterprise": _party,
    "authorizations": _list_of(_obj(_IDS)),
    "response_urls": _list_of(_obj({"response_url": _url}, required=("response_url",))),
    "actions": _list_of(_ACTION),
    "container": _obj(
        {"message_ts": _string, "channel_id": _slack_id, "view_id": _string, "thread_ts": _string}
    ),
    "state": _STATE,
    "view": _VIEW,
    "message": _MESSAGE,
    "previous_message": _obj(),
    "event": _EVENT,
    "item": _obj(),
    "assistant_thread": _obj(),
    "function_data": _obj(),
    "workflow_step": _obj(),
}

# What Bolt's matchers index without looking (bolt-python `slack_bolt/request/payload_utils.py`).
_REQUIRED_BY_TYPE: Final[Mapping[str, tuple[str, ...]]] = {
    "block_actions": ("actions",),
    "block_suggestion": ("action_id",),
    "view_submission": ("view",),
    "view_closed": ("view",),
    "shortcut": ("callback_id",),
    "message_action": ("callback_id",),
    "interactive_message": ("callback_id",),
    "dialog_submission": ("callback_id",),
    "dialog_cancellation": ("callback_id",),
    "dialog_suggestion": ("callback_id",),
    "workflow_step_edit": ("callback_id", "workflow_step"),
    "event_callback": ("event",),
}


# Interactions a person makes: the app answers that person, so the payload must say who it is.
_BY_A_PERSON: Final = frozenset(
    {"block_actions", "block_suggestion", "view_submission", "shortcut", "message_action"}
)


def _walk(value: object) -> None:
    """Bounded nesting and valid Unicode everywhere (iterative: depth is what is being bounded)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise UnreadableRequest("a string is not valid Unicode") from None
            continue
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise UnreadableRequest(f"nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def read_payload(payload: object) -> dict[str, Any]:
    """Check a parsed request (an HTTP body's JSON or form, a Socket Mode envelope's payload)."""
    if not isinstance(payload, dict):
        raise UnreadableRequest("the payload is not a JSON object")
    _walk(payload)
    _obj(_FIELDS)(payload, "payload")
    kind = payload.get("type")
    if "command" not in payload and kind is None and "ssl_check" not in payload:
        raise UnreadableRequest("the payload is neither a command nor a typed payload")
    for name in _REQUIRED_BY_TYPE.get(kind, ()) if isinstance(kind, str) else ():
        if name not in payload:
            raise _fail(f"payload.{name}", f"is missing from a {kind} payload")
    if kind in _BY_A_PERSON:
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise _fail("payload.user.id", f"is missing from a {kind} payload")
    if "command" in payload:
        for name in ("user_id", "response_url"):
            if not isinstance(payload.get(name), str):
                raise _fail(f"payload.{name}", "is missing from a command")
    container = payload.get("container")
    if (
        kind == "block_actions"
        and isinstance(container, dict)
        and container.get("type") == "message"
        and "response_url" not in payload
    ):
        raise _fail("payload.response_url", "is missing from a click on a message")
    if kind == "block_actions" and not payload["actions"]:
        raise _fail("payload.actions", "is empty")
    if kind in ("view_submission", "view_closed"):
        view = payload["view"]
        for name in ("callback_id", "type"):
            if name not in view:
                raise _fail(f"payload.view.{name}", "is missing")
        if view["type"] == "workflow_step" and "workflow_step" not in payload:
            raise _fail("payload.workflow_step", "is missing")
    return payload


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise UnreadableRequest(f"{what} is nested too deeply") from None
    except ValueError:
        raise UnreadableRequest(f"{what} is not JSON") from None


def read_http_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The request a signed HTTP body carries, checked; `UnreadableRequest` otherwise.

    A missing content type is read as Bolt would (JSON when the body starts with `{`).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableRequest("the body is not UTF-8") from None
    media = _media_type(content_type)
    if media is None:
        media = JSON_TYPE if text.lstrip().startswith("{") else FORM
    if media == JSON_TYPE:
        return read_payload(_json(text, "the body"))
    if media != FORM:
        raise UnreadableRequest(f"content type {media[:60]!r} is not one Slack sends")
    try:
        fields = parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except (ValueError, UnicodeDecodeError):
        raise UnreadableRequest("the form body cannot be read") from None
    form = dict(fields)
    if "payload" in form:
        return read_payload(_json(form["payload"], "the payload field"))
    return read_payload(form)
