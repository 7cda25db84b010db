"""The controls of `/sentry` replies: stable action_ids and the versioned query their buttons carry.

An ephemeral reply's blocks do not come back reliably in a `block_actions` payload (Slack docs:
block_actions payload; bolt-python's own test payloads carry no `message`), so "Share in channel"
and "More" do not carry the answer: they carry the question. Their value is `QueryRef`, the command
text as typed plus the Sentry cursor and offset of the page shown, and a click runs the query
again. A shared answer is therefore as fresh as the click, and a button value stays within Slack's
2,000 characters (Slack docs: button element, `value`): a command too long for that gets no such
buttons.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

REPLY_SHARE: Final = "reply.share"
ISSUES_MORE: Final = "issues.more"
REPLY_OPEN: Final = "reply.open"
DELETE_CONFIRM_CALLBACK: Final = "issue.delete.confirm"

QUERY_VERSION: Final = 1
BUTTON_VALUE_MAX: Final = 2000  # Slack docs: button element, `value`
MAX_OFFSET: Final = 100_000
# Sentry's cursor, `<value>:<offset>:<is_prev>` (Sentry `src/sentry/api/paginator.py` `Cursor`).
_CURSOR = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,10})?:[0-9]{1,9}:[01]")


class QueryRefError(ValueError):
    """A button value this version of the app did not write, or one too long for Slack."""


@dataclass(frozen=True, slots=True)
class QueryRef:
    """A `/sentry` query to run again: its text, and for `issues` the page (cursor, offset)."""

    text: str
    cursor: str | None = None
    offset: int = 0

    def encode(self) -> str:
        """Compact JSON for a button's `value`; QueryRefError when it would exceed 2,000."""
        data: dict[str, object] = {"v": QUERY_VERSION, "t": self.text}
        if self.cursor is not None:
            data["c"] = self.cursor
        if self.offset:
            data["o"] = self.offset
        value = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if len(value) > BUTTON_VALUE_MAX:
            raise QueryRefError(f"query longer than a button value ({len(value)} characters)")
        return value

    def fits(self) -> bool:
        try:
            self.encode()
        except QueryRefError:
            return False
        return True

    @classmethod
    def decode(cls, value: object) -> QueryRef:
        """Read a button's value; anything this version did not write is `QueryRefError`. The
        text is parsed again as a command when the button runs, and the cursor, which goes to
        Sentry, must have Sentry's cursor form."""
        if not isinstance(value, str) or len(value) > BUTTON_VALUE_MAX:
            raise QueryRefError("not a query value")
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise QueryRefError("not a query value") from exc
        if not isinstance(data, dict) or data.get("v") != QUERY_VERSION:
            raise QueryRefError("unknown query value version")
        text, cursor, offset = data.get("t"), data.get("c"), data.get("o", 0)
        if not isinstance(text, str) or not (cursor is None or isinstance(cursor, str)):
            raise QueryRefError("malformed query value")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
            raise QueryRefError("malformed query value")
        if cursor is not None and not _CURSOR.fullmatch(cursor):
            raise QueryRefError("malformed query value")
        return cls(text=text, cursor=cursor, offset=offset)
