"""Slack's answers parsed at the boundary into typed outcomes: what certainly happened.

A post or update ends `Posted` (Slack answered ok with a usable `ts` for the channel asked),
`Refused` (Slack answered and did not post: safe to try again later) or `Uncertain` (the
request may have reached Slack: only the channel history can tell). An `ok: true` answer
without a usable `ts`, or naming another channel, is `Uncertain`, never `Posted` with a made-up
ts (the chat.postMessage success schema requires `ok`, `channel`, `ts` and `message`: Slack
Web API OpenAPI spec). A history or thread page becomes `HistoryPage` or `Unreadable`; its
messages are kept one by one, so one odd message never hides the rest of the page.

Everything here is pure: any JSON value in, one of these types out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

# Slack timestamps: "<epoch seconds>.<6 digits>" (Slack docs: "ts" in message objects).
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")
# Conversation ids: C (public), G (private, older), D (direct message) and an upper-case tail.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,40}")
_ERROR_CODE = re.compile(r"[a-z0-9_.:]{1,80}")
MAX_CURSOR_LENGTH: Final = 1_000
# A Retry-After beyond a day is treated as a day: a channel is never parked for longer unseen,
# and the arithmetic on it cannot overflow.
MAX_RETRY_AFTER_SECONDS: Final = 86_400.0
DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0


@dataclass(frozen=True, slots=True)
class Posted:
    ts: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Slack answered and did not post. `scope` says how far the problem reaches;
    `retry_after` (seconds) is set when Slack rate-limited the call."""

    error: str
    scope: Literal["message", "channel", "workspace"]
    fix: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Uncertain:
    reason: str


Outcome = Posted | Refused | Uncertain


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The channel's history or thread could not be read; nothing may be assumed."""

    reason: str


@dataclass(frozen=True, slots=True)
class BotMessage:
    """A message of the history that carries message metadata."""

    ts: str
    event_type: str
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: tuple[BotMessage, ...]
    next_cursor: str | None


def valid_ts(value: object) -> str | None:
    """The value as a Slack timestamp, or None when it is not one."""
    if isinstance(value, str) and _TS.fullmatch(value):
        return value
    return None


def is_channel_id(value: str) -> bool:
    return bool(_CHANNEL_ID.fullmatch(value))


def error_code(status: int, data: object) -> str:
    """The `error` of a failed call, or `http_<status>` when the body names none usable."""
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, str) and _ERROR_CODE.fullmatch(error):
            return error
    return f"http_{status}"


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float:
    """Seconds a 429 asks to wait (HTTP `Retry-After`, an integer for Slack: Slack docs, rate
    limits), bounded to [1 s, one day]; a missing or unreadable header counts as 1 s."""
    value: Any = None
    for name, raw in (headers or {}).items():
        if isinstance(name, str) and name.lower() == "retry-after":
            value = raw[0] if isinstance(raw, list | tuple) and raw else raw
            break
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    if not math.isfinite(seconds):
        return MAX_RETRY_AFTER_SECONDS if seconds > 0 else DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, DEFAULT_RETRY_AFTER_SECONDS), MAX_RETRY_AFTER_SECONDS)


def _channel_matches(data: Mapping[str, object], channel: str) -> bool:
    answered = data.get("channel")
    if not isinstance(answered, str) or not answered:
        return False
    return answered == channel or not is_channel_id(channel)


def parse_post(data: object, *, channel: str) -> Posted | Uncertain:
    """chat.postMessage answered ok: Posted only with a real ts for the channel asked."""
    if not isinstance(data, Mapping) or data.get("ok") is not True:
        return Uncertain("Slack's answer to the post was not a success object")
    ts = valid_ts(data.get("ts"))
    if ts is None:
        return Uncertain("Slack answered ok without a message timestamp")
    if not _channel_matches(data, channel):
        return Uncertain("Slack answered ok for another channel")
    return Posted(ts=ts)


def parse_update(data: object, *, channel: str, ts: str) -> Posted | Uncertain:
    """chat.update answered ok: the message keeps its ts (Slack docs: chat.update); an answer
    naming another message or channel is not proof the card changed."""
    if not isinstance(data, Mapping) or data.get("ok") is not True:
        return Uncertain("Slack's answer to the update was not a success object")
    answered = data.get("ts", ts)
    if answered != ts:
        return Uncertain("Slack answered the update for another message")
    if "channel" in data and not _channel_matches(data, channel):
        return Uncertain("Slack answered the update for another channel")
    return Posted(ts=ts)


def parse_history_page(data: object) -> HistoryPage | Unreadable:
    """A conversations.history or conversations.replies page: the messages that carry
    metadata with a text `event_type` and an object `event_payload`, and the next cursor."""
    if not isinstance(data, Mapping) or data.get("ok") is not True:
        return Unreadable("Slack's answer was not a success object")
    raw_messages = data.get("messages")
    if raw_messages is None:
        raw_messages = []
    if not isinstance(raw_messages, list):
        return Unreadable("Slack's answer has no message list")
    messages: list[BotMessage] = []
    for message in raw_messages:
        if not isinstance(message, Mapping):
            continue
        meta = message.get("metadata")
        ts = valid_ts(message.get("ts"))
        if not isinstance(meta, Mapping) or ts is None:
            continue
        event_type, payload = meta.get("event_type"), meta.get("event_payload")
        if isinstance(event_type, str) and isinstance(payload, Mapping):
            messages.append(BotMessage(ts=ts, event_type=event_type, payload=dict(payload)))
    cursor: str | None = None
    response_metadata = data.get("response_metadata")
    if isinstance(response_metadata, Mapping):
        raw_cursor = response_metadata.get("next_cursor")
        if isinstance(raw_cursor, str) and 0 < len(raw_cursor) <= MAX_CURSOR_LENGTH:
            cursor = raw_cursor
    return HistoryPage(messages=tuple(messages), next_cursor=cursor)
