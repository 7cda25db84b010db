"""Modals the card opens: "ignore until N more events / users" asks for N (pure builders).

View limits: title, submit and close ≤ 24 characters, private_metadata ≤ 3000
(LIMITS.md §4, slack_sdk `View`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from bot.slack.escape import plain

IGNORE_COUNT_CALLBACK: Final = "issue.ignore.count"
COUNT_BLOCK: Final = "ignore_count"
COUNT_ACTION: Final = "count"
WINDOW_BLOCK: Final = "ignore_window"
WINDOW_ACTION: Final = "window"
MAX_COUNT: Final = 1_000_000
# Sentry's ignoreWindow / ignoreUserWindow are minutes, at most 10080 (CONTRACT.md §6.6).
WINDOWS: Final = {
    "": "No time limit",
    "60": "Within 1 hour",
    "1440": "Within 24 hours",
    "10080": "Within 1 week",
}


@dataclass(frozen=True, slots=True)
class IgnoreCountRequest:
    """What the dialog is about, carried in the view's private_metadata."""

    issue_id: str
    mode: str  # "events" or "users"
    channel: str
    message_ts: str

    def encode(self) -> str:
        return json.dumps(
            {"i": self.issue_id, "m": self.mode, "c": self.channel, "t": self.message_ts},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> IgnoreCountRequest:
        data = json.loads(text)
        mode = str(data["m"])
        if mode not in ("events", "users"):
            raise ValueError(f"unknown mode {mode!r}")
        return cls(
            issue_id=str(data["i"]), mode=mode, channel=str(data["c"]), message_ts=str(data["t"])
        )


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


def read_ignore_count(state: dict[str, Any]) -> tuple[int | None, int, str | None]:
    """(count, window minutes (0 = none), error) from a view_submission's state values."""
    values = state.get("values") or {}
    raw = ((values.get(COUNT_BLOCK) or {}).get(COUNT_ACTION) or {}).get("value")
    window_option = ((values.get(WINDOW_BLOCK) or {}).get(WINDOW_ACTION) or {}).get(
        "selected_option"
    ) or {}
    try:
        window = int(window_option.get("value") or 0)
    except ValueError:
        window = 0
    if window not in (0, 60, 1440, 10080):
        window = 0
    try:
        count = int(str(raw).strip())
    except (TypeError, ValueError):
        return None, window, "Enter a whole number, like 100."
    if not 1 <= count <= MAX_COUNT:
        return None, window, f"Enter a number from 1 to {MAX_COUNT:,}."
    return count, window, None
