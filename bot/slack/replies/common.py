"""Shared pieces of `/sentry` replies: text blocks, notices, errors, help, and the reply controls.

Pure: text and explicit state in, `{"text", "blocks"}` out. Anything from Sentry or typed by a
person goes through `bot.slack.escape`; limits are Slack's (docs.slack.dev/reference/block-kit:
blocks, block elements, composition objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

from bot.slack.escape import (
    escape_mrkdwn,
    http_url,
    mrkdwn,
    one_line,
    plain,
    truncate,
    user_mention,
)
from bot.slack.reply_actions import ISSUES_MORE, REPLY_OPEN, REPLY_SHARE, QueryRef

JSON = dict[str, Any]

MESSAGE_BLOCKS_MAX: Final = 50  # docs.slack.dev/reference/block-kit/blocks
SECTION_TEXT_MAX: Final = 3000  # Slack docs: section block, `text`
FIELD_TEXT_MAX: Final = 2000  # Slack docs: section block, each of `fields`
BUTTON_URL_MAX: Final = 3000  # Slack docs: button element, `url`
# Far below the 4,000 characters Slack recommends for `text` (Slack changelog
# api.slack.com/changelog/2018-04-truncating-really-long-messages).
FALLBACK_MAX: Final = 3000
CONTROL_BLOCKS: Final = 2  # what `finish` may add: a footer context and an actions block


def text_object(text: str) -> JSON:
    # verbatim: no auto-linking of names or bare URLs in Sentry text; our own <…> still work.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> JSON:
    return {"type": "section", "text": text_object(truncate(text, SECTION_TEXT_MAX))}


def fields_section(fields: Sequence[tuple[str, str]]) -> JSON:
    """Up to 10 `*name*\\nvalue` fields (Slack docs: section block); values are escaped mrkdwn."""
    return {
        "type": "section",
        "fields": [
            text_object(truncate(f"*{name}*\n{value}", FIELD_TEXT_MAX))
            for name, value in fields[:10]
        ],
    }


def context(text: str) -> JSON:
    return {"type": "context", "elements": [text_object(truncate(text, SECTION_TEXT_MAX))]}


def code(text: str, limit: int) -> str:
    """Untrusted text as an inline code span; a backtick would end the span, so it becomes '."""
    inner = mrkdwn(one_line(text).replace("`", "'"), limit)
    return f"`{inner or ' '}`"


def divider() -> JSON:
    return {"type": "divider"}


def pack(lines: Sequence[str], limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Join lines into as few texts of at most `limit` characters as possible, in order."""
    texts: list[str] = []
    for line in lines:
        line = truncate(line, limit)
        if texts and len(texts[-1]) + 1 + len(line) <= limit:
            texts[-1] += "\n" + line
        else:
            texts.append(line)
    return texts


def line_sections(lines: Sequence[str]) -> list[JSON]:
    return [section(text) for text in pack(lines)]


def notice(text: str) -> JSON:
    """A one-paragraph reply of plain words (escaped whole: it may quote Sentry or the user)."""
    safe = escape_mrkdwn(text)
    return {"text": truncate(safe, FALLBACK_MAX), "blocks": [section(safe)]}


def error_reply(message: str, usage: str) -> JSON:
    """Input that is not a command: what is wrong, then the subcommand's help line."""
    problem = mrkdwn(message, 1000)
    return {
        "text": truncate(f"Sorry, {problem}", FALLBACK_MAX),
        "blocks": [
            section(f":warning: {problem[:1].upper()}{problem[1:]}"),
            context(f"Usage: {mrkdwn(usage, 2000)}"),
        ],
    }


class HelpEntry(Protocol):
    """One subcommand's help as the command vocabulary states it (`bot.commands.help`)."""

    @property
    def syntax(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def example(self) -> str: ...


def _help_line(line: HelpEntry) -> str:
    return (
        f"`/sentry {escape_mrkdwn(line.syntax)}` — {escape_mrkdwn(line.summary)}. "
        f"_Example:_ `/sentry {escape_mrkdwn(line.example)}`"
    )


def help_reply(lines: Sequence[HelpEntry], topic: str | None = None) -> JSON:
    """`lines` with one example each: every subcommand's, or `topic`'s."""
    text = "/sentry help" if topic is None else f"/sentry help {topic}"
    blocks = [section("*Sentry in Slack* — what `/sentry` can do:")] if topic is None else []
    blocks += line_sections([f"• {_help_line(line)}" for line in lines])
    return {"text": text, "blocks": blocks}


def _button(
    action_id: str, label: str, *, value: str | None = None, url: str | None = None
) -> JSON:
    button: JSON = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": plain(label, 75), "emoji": True},
    }
    if value is not None:
        button["value"] = value
    if url is not None:
        button["url"] = url
    return button


def finish(
    text: str,
    blocks: Sequence[JSON],
    *,
    share: QueryRef | None = None,
    more: QueryRef | None = None,
    open_url: str | None = None,
    open_label: str = "Open in Sentry",
    shared_by: str | None = None,
) -> JSON:
    """A query's answer with its controls: "Share in channel", "More" and a link to Sentry.

    A shared copy (`shared_by`, a Slack user ID) says who shared it and keeps only the link.
    Builders leave room for `CONTROL_BLOCKS`; more than 50 blocks is a bug (ValueError).
    """
    out = list(blocks)
    elements: list[JSON] = []
    if shared_by is not None:
        out.append(context(f"Shared by {user_mention(shared_by)}"))
    else:
        if share is not None and share.fits():
            elements.append(_button(REPLY_SHARE, "Share in channel", value=share.encode()))
        if more is not None and more.fits():
            elements.append(_button(ISSUES_MORE, "More", value=more.encode()))
    url = http_url(open_url) if open_url else None
    if url is not None and len(url) <= BUTTON_URL_MAX:
        elements.append(_button(REPLY_OPEN, open_label, url=url))
    if elements:
        out.append({"type": "actions", "elements": elements})
    if len(out) > MESSAGE_BLOCKS_MAX:
        raise ValueError(f"a reply of {len(out)} blocks exceeds Slack's {MESSAGE_BLOCKS_MAX}")
    return {"text": truncate(text, FALLBACK_MAX), "blocks": out}
