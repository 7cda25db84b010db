"""Listeners for Sentry links in Slack: `link_shared` unfurls them as compact cards, and a
triage click on such a card redraws it in place.

A click inside an unfurl carries `container.is_app_unfurl` and `app_unfurl_url` and no
`message` (Slack docs: "Unfurling links in messages", alternate interactive payload behavior);
its card is the person's message's attachment, so it is redrawn with chat.unfurl rather than
chat.update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers import HandlerContext
from bot.handlers.answered import answered
from bot.triage.service import TriageResult
from bot.unfurls.event import read_link_shared
from bot.unfurls.service import Unfurler

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UnfurledCard:
    """Where a clicked card lives when it is a link unfurl."""

    channel: str
    message_ts: str
    url: str


def unfurled_card(body: dict[str, Any]) -> UnfurledCard | None:
    """The unfurl a block_actions payload comes from; None for a card in a bot message."""
    container = body.get("container")
    if not isinstance(container, dict) or container.get("is_app_unfurl") is not True:
        return None
    app_unfurl = body.get("app_unfurl")
    url = container.get("app_unfurl_url") or (
        app_unfurl.get("app_unfurl_url") if isinstance(app_unfurl, dict) else None
    )
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not (isinstance(url, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    return UnfurledCard(channel=channel, message_ts=ts, url=url)


async def redraw_after_triage(
    unfurler: Unfurler | None, card: UnfurledCard | None, result: TriageResult
) -> None:
    """Redraw the unfurled card acted on, with the issue as Sentry reports it after the change."""
    if card is None or unfurler is None or not result.changed:
        return
    problem = await unfurler.redraw(
        channel=card.channel,
        ts=card.message_ts,
        url=card.url,
        issue=result.changed[0],
        last_action=result.last_action,
    )
    if problem:
        logger.warning("could not redraw an unfurled card in %s: %s", card.channel, problem)


@dataclass(frozen=True, slots=True)
class UnfurlListeners:
    """The listener of `link_shared`, unfurling through `unfurler`."""

    unfurler: Unfurler

    async def link_shared(self, body: dict[str, Any]) -> None:
        # Bolt acknowledges events before their listener runs.
        shared = read_link_shared(body)
        if shared is None:
            logger.info("a link_shared event named no link or target to unfurl")
            return
        await self.unfurler.links_shared(shared)


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    if ctx.unfurls is None:
        return
    app.event("link_shared")(answered(UnfurlListeners(ctx.unfurls).link_shared))
