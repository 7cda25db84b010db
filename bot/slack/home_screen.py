"""Publishing a person's Home tab view (Slack docs: views.publish; no scope needed)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


class SlackHomeScreen:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def publish(self, slack_user: str, view: dict[str, Any]) -> None:
        """Replace the person's Home view; Slack's refusal is logged with its error string
        (`not_enabled` when the Home tab is off in the app's settings) and not raised, as no
        one is waiting for an answer."""
        try:
            await self._client.views_publish(user_id=slack_user, view=view)
        except SlackApiError as exc:
            error = exc.response.get("error")
            details = exc.response.get("response_metadata") or exc.response.get("errors") or ""
            logger.warning("views.publish for %s refused: %s %s", slack_user, error, details)
