"""Block Kit for the conversation with Sentry: a Sentry comment in a card's thread, and the
"Send to Sentry" issue picker. Pure builders: models in, `{"text", "blocks"}` / views out.

Everything from Sentry (the author's name, the comment) is escaped and truncated by
`bot.slack.escape`, like every Sentry string (Slack docs: formatting message text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from bot.slack.escape import mrkdwn, one_line, plain

JSON = dict[str, Any]

SECTION_TEXT_MAX: Final = 3000  # Slack docs: section block, `text`
MESSAGE_TEXT_MAX: Final = 3000  # the fallback `text` kept as short as the section it mirrors
NAME_MAX: Final = 200
MODAL_TITLE_MAX: Final = 24  # Slack docs: modal view, `title`
PRIVATE_METADATA_MAX: Final = 3000  # Slack docs: view object, `private_metadata`

SEND_CALLBACK: Final = "message.to_sentry"
PICK_VIEW: Final = "message.to_sentry.pick"
PICK_ISSUE_BLOCK: Final = "issue_pick"
PICK_ISSUE_ACTION: Final = "issue_search"
TYPED_ISSUE_BLOCK: Final = "issue_typed"
TYPED_ISSUE_ACTION: Final = "issue_ref"


def build_comment_reply(*, author: str, text: str) -> JSON:
    """The reply in a card's thread for a comment written in Sentry: "Bo Berg commented in
    Sentry: …"."""
    name = mrkdwn(one_line(author) or "Someone", NAME_MAX)
    head = f"*{name}* commented in Sentry:"
    body = mrkdwn(text.strip() or "(empty comment)", SECTION_TEXT_MAX - len(head) - 1)
    fallback = mrkdwn(one_line(author) or "Someone", NAME_MAX) + " commented in Sentry: "
    fallback += mrkdwn(one_line(text), MESSAGE_TEXT_MAX - len(fallback))
    return {
        "text": fallback,
        "blocks": [
            {
                "type": "section",
                "block_id": "comment",
                "text": {"type": "mrkdwn", "text": f"{head}\n{body}"},
            }
        ],
    }


class PickMetadataError(ValueError):
    """A picker's private_metadata that this version cannot read."""


_PICK_FIELDS = ("channel", "channel_name", "ts", "thread_ts", "text", "author", "author_name")


def encode_pick(message: Mapping[str, str | None]) -> str:
    """The message a picker is about, as `private_metadata` (at most 3,000 characters): the
    text is shortened to fit, never the ids."""
    fields = {name: message.get(name) for name in _PICK_FIELDS}
    fields["v"] = "1"
    text = str(fields.get("text") or "")
    while True:
        fields["text"] = text
        encoded = json.dumps(fields, separators=(",", ":"))
        if len(encoded) <= PRIVATE_METADATA_MAX:
            return encoded
        if not text:
            raise PickMetadataError("the message's ids do not fit private_metadata")
        over = len(encoded) - PRIVATE_METADATA_MAX
        text = text[: max(len(text) - over - 1, 0)].rstrip() + "…"
        if len(text) <= 1:
            text = ""


def decode_pick(raw: object) -> dict[str, str | None]:
    """What `encode_pick` wrote; `PickMetadataError` for anything else."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("v") != "1":
        raise PickMetadataError("not a picker of this version")
    out: dict[str, str | None] = {}
    for name in _PICK_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise PickMetadataError(f"{name} is not text")
        out[name] = value
    if not out["channel"] or not out["ts"]:
        raise PickMetadataError("no message named")
    return out


def issue_option(*, issue_id: str, short_id: str, title: str) -> JSON:
    """One issue in the picker's search (Slack docs: option object, text at most 75)."""
    return {
        "text": {"type": "plain_text", "text": plain(f"{short_id} {one_line(title)}", 75)},
        "value": issue_id,
    }


def build_issue_picker(message: Mapping[str, str | None]) -> JSON:
    """The modal asking which issue a message goes to: a search of Sentry's issues, or a
    short ID / issue URL typed in. The message travels in `private_metadata`."""
    metadata = encode_pick(message)
    return {
        "type": "modal",
        "callback_id": PICK_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": plain("Send to Sentry", MODAL_TITLE_MAX)},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": PICK_ISSUE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Issue"},
                "element": {
                    "type": "external_select",
                    "action_id": PICK_ISSUE_ACTION,
                    "min_query_length": 1,
                    "placeholder": {"type": "plain_text", "text": "Search Sentry issues"},
                },
            },
            {
                "type": "input",
                "block_id": TYPED_ISSUE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "…or its short ID or link"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": TYPED_ISSUE_ACTION,
                    "max_length": 500,
                    "placeholder": {"type": "plain_text", "text": "WEB-3F"},
                },
            },
        ],
    }
