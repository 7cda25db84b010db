"""Modals and what they carry: "ignore until N more events / users" asks for N (pure builders),
and the private_metadata codecs of every dialog the app opens.

View limits: title, submit and close ≤ 24 characters, private_metadata ≤ 3000 (Slack docs: view
objects; slack_sdk `View`). A view_submission comes back with the private_metadata the app wrote,
but a dialog opened by another version of the app (or a forged one) may hold anything, so each
codec's `decode` reads any value into typed fields (the issue an `IssueId`) or raises
`DialogMetadataError`, and nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from bot.sentry.ids import InvalidId, IssueId
from bot.slack.escape import plain
from bot.triage.vocabulary import IGNORE_WINDOWS, MAX_IGNORE_COUNT, CountMode, duration_words

IGNORE_COUNT_CALLBACK: Final = "issue.ignore.count"
COUNT_BLOCK: Final = "ignore_count"
COUNT_ACTION: Final = "count"
WINDOW_BLOCK: Final = "ignore_window"
WINDOW_ACTION: Final = "window"
MAX_COUNT: Final = MAX_IGNORE_COUNT
# Sentry's ignoreWindow / ignoreUserWindow are minutes, at most 10080 (Sentry API docs: "Update an
# Issue"); the choices are the triage vocabulary's.
WINDOWS: Final = {
    "": "No time limit",
    **{str(minutes): f"Within {duration_words(minutes)}" for minutes in IGNORE_WINDOWS},
}


PRIVATE_METADATA_MAX: Final = 3000
# Slack ids (`C…`, `G…`, `D…`; `U…`, `W…`) and message timestamps (`1700000000.000100`).
_SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
_MESSAGE_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")

IgnoreCountMode = CountMode


class DialogMetadataError(ValueError):
    """A view's private_metadata that this version of the app did not write."""


def _metadata(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text or len(text) > PRIVATE_METADATA_MAX:
        raise DialogMetadataError("no readable private_metadata")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise DialogMetadataError("private_metadata is not JSON") from None
    if not isinstance(data, dict):
        raise DialogMetadataError("private_metadata is not an object")
    return data


def _issue(data: dict[str, Any]) -> IssueId:
    value = data.get("i")
    if not isinstance(value, str) or value != value.strip():
        raise DialogMetadataError("private_metadata names no issue")
    try:
        return IssueId(value)
    except InvalidId as exc:
        raise DialogMetadataError(str(exc)) from None


def _text(data: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    """An optional string field; empty when absent, refused when of another type or shape."""
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > 200:
        raise DialogMetadataError(f"private_metadata field {key!r} is not text")
    if value and pattern is not None and not pattern.fullmatch(value):
        raise DialogMetadataError(f"private_metadata field {key!r} is malformed")
    return value


MAX_METADATA_URL = 2000


def _url(data: dict[str, Any], key: str) -> str:
    """An optional link; private_metadata holds 3,000 characters (Slack docs: view object)."""
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_METADATA_URL or not value.isprintable():
        raise DialogMetadataError(f"private_metadata field {key!r} is not a link")
    if value and not value.startswith(("https://", "http://")):
        raise DialogMetadataError(f"private_metadata field {key!r} is not a link")
    return value


@dataclass(frozen=True, slots=True)
class IgnoreCountRequest:
    """What the dialog is about, carried in the view's private_metadata."""

    issue_id: IssueId
    mode: IgnoreCountMode
    channel: str
    message_ts: str
    unfurl_url: str = ""
    """The link whose unfurled card opened the dialog (that card is redrawn); '' for a card in
    a bot message. Older metadata has no `u` and reads as ''."""

    def encode(self) -> str:
        fields = {"i": self.issue_id, "m": self.mode, "c": self.channel, "t": self.message_ts}
        if self.unfurl_url:
            fields["u"] = self.unfurl_url
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def decode(cls, text: object) -> IgnoreCountRequest:
        data = _metadata(text)
        mode = data.get("m")
        if mode == "events" or mode == "users":
            return cls(
                issue_id=_issue(data),
                mode=mode,
                channel=_text(data, "c", _SLACK_ID),
                message_ts=_text(data, "t", _MESSAGE_TS),
                unfurl_url=_url(data, "u"),
            )
        raise DialogMetadataError("private_metadata names no ignore mode")


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    """What the delete dialog is about: the issue, and where to answer after submission."""

    issue_id: IssueId
    short_id: str
    channel: str

    def encode(self) -> str:
        return json.dumps(
            {"i": self.issue_id, "s": self.short_id, "c": self.channel}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, text: object) -> DeleteRequest:
        data = _metadata(text)
        return cls(
            issue_id=_issue(data),
            short_id=_text(data, "s"),
            channel=_text(data, "c", _SLACK_ID),
        )


def notice_view(text: str, *, title: str = "Sentry") -> dict[str, Any]:
    """A modal that only says `text` (what a submission is answered with when it cannot be
    acted on); `response_action: update` replaces the dialog with it."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": plain(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": plain(text, 3000)}}],
    }


def build_ignore_count_modal(request: IgnoreCountRequest) -> dict[str, Any]:
    noun = "events" if request.mode == "events" else "users"
    return {
        "type": "modal",
        "callback_id": IGNORE_COUNT_CALLBACK,
        "private_metadata": request.encode(),
        "title": {"type": "plain_text", "text": "Ignore issue"},
        "submit": {"type": "plain_text", "text": "Ignore"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": plain(
                        f"Ignore this issue until this many more {noun} are seen. "
                        "It comes back as unresolved after that.",
                        3000,
                    ),
                },
            },
            {
                "type": "input",
                "block_id": COUNT_BLOCK,
                "label": {"type": "plain_text", "text": f"Number of {noun}"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": COUNT_ACTION,
                    "max_length": 7,
                    "placeholder": {"type": "plain_text", "text": "100"},
                },
            },
            {
                "type": "input",
                "block_id": WINDOW_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Counted"},
                "element": {
                    "type": "static_select",
                    "action_id": WINDOW_ACTION,
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": value or "0"}
                        for value, label in WINDOWS.items()
                    ],
                },
            },
        ],
    }


def _field(data: object, *path: str) -> object:
    """`data[path[0]][path[1]]…`, or None where any step is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def read_ignore_count(state: object) -> tuple[int | None, int, str | None]:
    """(count, window minutes (0 = none), error) from a view_submission's state, whatever its
    shape: anything unreadable is an error for the count field, or no window."""
    raw = _field(state, "values", COUNT_BLOCK, COUNT_ACTION, "value")
    window_value = _field(state, "values", WINDOW_BLOCK, WINDOW_ACTION, "selected_option", "value")
    window = (
        int(window_value)
        if isinstance(window_value, str) and window_value and window_value in WINDOWS
        else 0
    )
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None, window, "Enter a whole number, like 100."
    count = int(text)
    if not 1 <= count <= MAX_COUNT:
        return None, window, f"Enter a number from 1 to {MAX_COUNT:,}."
    return count, window, None
