"""Safe mrkdwn and plain_text from untrusted Sentry strings: escaping, truncation, links, mentions.

Every string that comes from Sentry reaches Slack through this module. The rules are those of
Slack's "Formatting message text" page (https://docs.slack.dev/messaging/formatting-message-text):
`&`, `<` and `>` are the only control characters and must become `&amp;`, `&lt;`, `&gt;`
(ampersand first); anything inside `<…>` is parsed as a mention, a channel, a date or a link, so
only this module builds such sequences.

Truncation is entity-safe: `truncate` may be applied to already escaped text and never cuts an
`&amp;`/`&lt;`/`&gt;` in half, so the usual order is escape first, then truncate to the limit
of the field the text lands in (`mrkdwn` does both).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"

# C0 and C1 control characters except tab and newline, which Slack renders as whitespace.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")
# An escape entity cut anywhere after its `&`: "&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt".
_PARTIAL_ENTITY = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")
# Characters that would end or break the URL part of `<url|label>` (the link syntax of Slack's
# formatting docs).
_URL_UNSAFE = {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22"}
_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))

# Slack IDs: users `U…`/`W…` (Enterprise Grid), user groups `S…`; upper-case alphanumerics.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")


def strip_control(text: str) -> str:
    """Remove control characters (keeping newline and tab) so nothing invisible reaches Slack."""
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, to one space (titles, names)."""
    return _WHITESPACE.sub(" ", strip_control(text)).strip()


def escape_mrkdwn(text: str) -> str:
    """Escape `&` (first), `<` and `>` for any mrkdwn text or message `text`.

    Slack docs: formatting message text, "Escaping text".

    After this, `<!channel>` reads `&lt;!channel&gt;` and renders literally, so a Sentry title can
    neither notify anyone nor hide a link. Control characters other than newline/tab are removed.
    """
    return strip_control(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with "…" when anything was cut.

    Counts Python characters (code points), as Slack's documented limits do
    (Slack docs: docs.slack.dev/reference/block-kit).
    Entity-safe: if the cut lands inside `&amp;`, `&lt;` or `&gt;` the whole entity is dropped,
    so escaping first and truncating second always yields valid, in-limit mrkdwn.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    head = _PARTIAL_ENTITY.sub("", head)
    return head.rstrip() + ELLIPSIS


def mrkdwn(text: str, limit: int) -> str:
    """Untrusted text ready for a mrkdwn field of `limit` characters: escaped, then truncated."""
    return truncate(escape_mrkdwn(text), limit)


def plain(text: str, limit: int) -> str:
    """Untrusted text for a `plain_text` object (button, option, placeholder, header).

    Slack does not apply mrkdwn to plain_text, but whether `<!here>` is inert there and whether
    entities are decoded is not documented by Slack. So nothing is entity-escaped,
    and `<`/`>` become the single angle quotation marks U+2039/U+203A, which no Slack parser
    treats as a control sequence.
    Control characters are removed, whitespace collapsed, and the result is cut to `limit`
    (75 for option and button text, 150 for headers and placeholders; Slack docs: button element,
    option object, header block; python-slack-sdk `slack_sdk/models/blocks/`).
    """
    return truncate(one_line(text).replace("<", "\u2039").replace(">", "\u203a"), limit)


def http_url(url: str) -> str | None:
    """`url` percent-encoded where Slack needs it, or None when it is not plain http(s).

    Only `http`/`https` URLs with a host qualify; `|`, `<`, `>`, spaces and quotes are
    percent-encoded (a raw `|` would end the URL part of `<url|label>`),
    as are non-ASCII characters (UTF-8). Use as is for a button's `url` field.
    """
    cleaned = strip_control(url).strip()
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    encoded = "".join(_URL_UNSAFE.get(char, char) for char in cleaned)
    return quote(encoded, safe=_PRINTABLE_ASCII)


def safe_url(url: str) -> str | None:
    """`http_url` for the URL part of a mrkdwn `<url|label>`: `&` is written `&amp;`."""
    encoded = http_url(url)
    return None if encoded is None else encoded.replace("&", "&amp;")


def link(url: str, label: str, *, limit: int = 3000, label_limit: int | None = None) -> str:
    """`<url|label>` from an untrusted URL and label, at most `limit` characters in total.

    The label is escaped and cut to `label_limit` and to what the URL leaves of `limit` (3000 is
    the section text limit, Slack docs: docs.slack.dev/reference/block-kit/blocks/section-block).
    When the URL is not http(s), or is too long to leave room for a readable label, the result is
    the escaped label alone (cut to `label_limit`): an unlinked title beats a broken one.
    """
    label_text = one_line(label)
    label_room = limit if label_limit is None else min(limit, label_limit)
    target = safe_url(url)
    url_room = limit - len(target) - 3 if target is not None else 0
    if target is None or url_room < min(len(escape_mrkdwn(label_text)), 20):
        return mrkdwn(label_text, label_room)
    return f"<{target}|{mrkdwn(label_text, min(label_room, url_room))}>"


def mention(slack_id: str) -> str:
    """The mention sequence for a user (`<@U…>`, `<@W…>`) or user group (`<!subteam^S…>`).

    The ID must match Slack's format exactly (upper-case letters and digits after the prefix);
    anything else raises ValueError, so no other control sequence can be smuggled in through a
    configured ID (Slack docs: formatting message text, mentioning users and groups).
    """
    if _USER_ID.fullmatch(slack_id):
        return f"<@{slack_id}>"
    if _USERGROUP_ID.fullmatch(slack_id):
        return f"<!subteam^{slack_id}>"
    raise ValueError(f"not a Slack user or user-group ID: {slack_id!r}")


def user_mention(slack_user_id: str) -> str:
    """`<@U…>` for a Slack user ID only (no groups): who performed an action."""
    if not _USER_ID.fullmatch(slack_user_id):
        raise ValueError(f"not a Slack user ID: {slack_user_id!r}")
    return f"<@{slack_user_id}>"
