"""Block Kit for the conversation with Sentry: a Sentry comment in a card's thread, and the
"Send to Sentry" issue picker. Pure builders: models in, `{"text", "blocks"}` / views out.

Everything from Sentry (the author's name, the comment) is escaped and truncated by
`bot.slack.escape`, like every Sentry string (Slack docs: formatting message text).
"""

from __future__ import annotations

import json
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


def build_issue_picker(*, channel: str, message_ts: str) -> JSON:
    """The modal asking which issue a message goes to: a search of Sentry's issues, or a
    short ID / issue URL typed in. The message travels in `private_metadata`."""
    metadata = json.dumps({"channel": channel, "ts": message_ts}, separators=(",", ":"))
    if len(metadata) > PRIVATE_METADATA_MAX:
        raise ValueError("message reference too long for private_metadata")
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
