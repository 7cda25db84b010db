"""The texts of the conversation between Slack and Sentry: comments the app writes in Sentry,
and Slack message markup read back as plain text. Pure functions, no I/O.

Slack message text is mrkdwn with control sequences in angle brackets (Slack docs: formatting
message text): `<@U…>` / `<@U…|name>` users, `<#C…|name>` channels, `<!here>` and
`<!subteam^S…|@team>` special mentions, `<!date^…|fallback>` dates, `<url|label>` links; and
`&`, `<`, `>` in what people typed arrive as `&amp;`, `&lt;`, `&gt;`. A comment in Sentry is
plain text, so each sequence becomes what a reader saw in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

# Sentry's `NoteSerializer.text` has no length limit; a Slack message may hold 40,000
# characters (Slack docs: chat.postMessage, `text`). A comment is kept readable.
COMMENT_TEXT_MAX: Final = 8000
ELLIPSIS: Final = "…"

_SEQUENCE = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unescape(text: str) -> str:
    """Slack's three entities back to their characters (`&amp;` last, so `&amp;lt;` stays
    `&lt;`, as the person typed it)."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def _sequence(body: str, names: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        user = target[1:]
        return "@" + (names.get(user) or label or user)
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        special = target[1:]
        if special.startswith("subteam^"):
            return label if label.startswith("@") else "@" + (label or special[8:])
        if special.startswith("date^"):
            return label or special
        if special in ("here", "channel", "everyone"):
            return "@" + special
        return label or special
    url = unescape(target)
    if url.startswith("mailto:"):
        return label or url.removeprefix("mailto:")
    if not label or label == url:
        return url
    return f"{label} ({url})"


def slack_to_plain(text: str, names: Mapping[str, str]) -> str:
    """Slack message text as a person reads it: `names` maps user ids to display names."""
    parts: list[str] = []
    position = 0
    for match in _SEQUENCE.finditer(text):
        parts.append(unescape(text[position : match.start()]))
        parts.append(_sequence(match.group(1), names))
        position = match.end()
    parts.append(unescape(text[position:]))
    return "".join(parts)


def mentioned_users(text: str) -> list[str]:
    """The user ids `<@U…>` mentions name, in order, once each (to look their names up)."""
    found: list[str] = []
    for match in _SEQUENCE.finditer(text):
        target = match.group(1).partition("|")[0]
        if target.startswith("@") and target[1:] not in found:
            found.append(target[1:])
    return found


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def person(name: str, email: str) -> str:
    """ "Ana Lima (ana@acme.test)", or the e-mail alone when Sentry knows no other name."""
    name = " ".join(name.split())
    return f"{name} ({email})" if name and name != email else email


def attribution(verb: str, *, name: str, email: str) -> str:
    """The comment a triage action leaves in Sentry: "Resolved in Slack by Ana Lima (ana@…)"."""
    return f"{verb} in Slack by {person(name, email)}"


def sent_message(
    *, author: str, channel: str, permalink: str, text: str, sender: str, sender_email: str
) -> str:
    """The comment "Send to Sentry" writes: who wrote what where, and who sent it."""
    where = f"#{channel}" if channel else "a conversation"
    head = (
        f"{author} wrote in {where} on Slack ({permalink}):"
        if permalink
        else (f"{author} wrote in {where} on Slack:")
    )
    tail = f"Sent to Sentry by {person(sender, sender_email)}"
    room = COMMENT_TEXT_MAX - len(head) - len(tail) - 4
    body = _cut(text.strip(), max(room, 1)) or "(no text)"
    return f"{head}\n\n{body}\n\n{tail}"
