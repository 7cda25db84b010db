"""Slack's side of "Send to Sentry": a message's permalink and the names its mentions show.

Slack docs: chat.getPermalink (no scope needed; `channel`, `message_ts`) and users.info
(`users:read`; the name shown is the profile's `display_name`, else `real_name`, else `name`).
A Slack error is logged and answered with None: the comment is still worth sending.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


class SlackMessages:
    """Reads what a comment about a Slack message needs, with the bot token's client."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            logger.warning("no permalink for %s in %s: %s", ts, channel, exc.response.get("error"))
            return None
        link = response.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    async def name(self, slack_user: str) -> str | None:
        try:
            response = await self._client.users_info(user=slack_user)
        except SlackApiError as exc:
            logger.info("no name for %s: %s", slack_user, exc.response.get("error"))
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        for value in (profile.get("display_name"), profile.get("real_name"), user.get("name")):
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
        return None
