"""The `link_shared` event read at the door: who shared which links, and where to unfurl them.

Pure. Shapes from Slack's docs (docs.slack.dev/reference/events/link_shared; "Unfurling links in
messages"): `channel` + `message_ts` name the message; `unfurl_id` + `source` name the same
unfurl and are the only target of a link pasted in the composer (`channel_id: "COMPOSER"`,
`source: "composer"`), so they are preferred when present. `links[].url` is the key chat.unfurl
expects back, kept exactly as sent. `is_bot_user_member` says whether the bot is in the
channel (Slack sends the event for every channel of the workspace); `is_ext_shared_channel`
(Events API callback) says the channel is shared with another organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

MAX_LINKS: Final = 10
"""Slack sends at most a handful of links per message; more are not unfurled."""


@dataclass(frozen=True, slots=True)
class UnfurlTarget:
    """Where chat.unfurl attaches the cards (Slack docs: chat.unfurl, `channel` + `ts`, or
    `unfurl_id` + `source`)."""

    channel: str | None = None
    ts: str | None = None
    unfurl_id: str | None = None
    source: str | None = None

    def arguments(self) -> dict[str, str]:
        if self.unfurl_id and self.source:
            return {"unfurl_id": self.unfurl_id, "source": self.source}
        return {"channel": self.channel or "", "ts": self.ts or ""}


@dataclass(frozen=True, slots=True)
class SharedLinks:
    """One `link_shared` event: the person who posted, their team when Slack says, the links."""

    user: str
    team: str
    target: UnfurlTarget
    urls: tuple[str, ...]
    shared_externally: bool
    bot_in_channel: bool = True
    """False when Slack says the bot is not a member (`is_bot_user_member`)."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def read_link_shared(body: Mapping[str, Any]) -> SharedLinks | None:
    """The links of an Events API callback carrying `link_shared`; None when it names no
    person, no target or no link (nothing can be unfurled then)."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "link_shared":
        return None
    user = _text(event.get("user"))
    target = UnfurlTarget(
        channel=_text(event.get("channel")),
        ts=_text(event.get("message_ts")),
        unfurl_id=_text(event.get("unfurl_id")),
        source=_text(event.get("source")),
    )
    addressable = (target.unfurl_id and target.source) or (target.channel and target.ts)
    links = event.get("links")
    if user is None or not addressable or not isinstance(links, list):
        return None
    urls: list[str] = []
    for link in links:
        url = link.get("url") if isinstance(link, Mapping) else None
        if isinstance(url, str) and url and url not in urls:
            urls.append(url)
    if not urls:
        return None
    return SharedLinks(
        user=user,
        team=_text(event.get("user_team")) or "",
        target=target,
        urls=tuple(urls[:MAX_LINKS]),
        shared_externally=body.get("is_ext_shared_channel") is True,
        bot_in_channel=event.get("is_bot_user_member") is not False,
    )
