"""chat.unfurl with the bot token: attach or replace the cards under a person's message.

Slack docs: chat.unfurl (bot scope `links:write`; target `channel` + `ts` or `unfurl_id` +
`source`; `unfurls` a JSON map of url → `{"blocks": [...]}`; errors such as
`cannot_unfurl_message`, `cannot_find_message`, `invalid_blocks`, `missing_scope`).
Sent as JSON, as slack_sdk's `chat_unfurl` does, and retried with the client's handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.unfurls.event import UnfurlTarget

logger = logging.getLogger(__name__)


class SlackUnfurls:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def unfurl(self, target: UnfurlTarget, unfurls: Mapping[str, Any]) -> str:
        """'' when Slack took the unfurls, else its error string (or why it was not reached)."""
        try:
            await self._client.api_call(
                "chat.unfurl", json={**target.arguments(), "unfurls": dict(unfurls)}
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if error == "missing_scope":
                needed = str(exc.response.get("needed") or "links:write")[:40]
                return (
                    f"missing_scope: the bot token lacks {needed}; reinstall the app from "
                    "slack_manifest.yml so an admin approves it"
                )
            return error
        except (TimeoutError, aiohttp.ClientError) as exc:
            return f"Slack could not be reached ({type(exc).__name__})"
        return ""
