"""Slack's side of "who is clicking": `auth.test` and `users.info` read into a `SlackProfile`.

The triage domain asks through `bot.triage.identity.SlackDirectory` and never sees the Slack
client; a Slack error on a profile becomes `SlackProfileError` carrying Slack's error string
(Slack docs: users.info, errors such as `user_not_found`; the e-mail needs `users:read.email`).
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.triage.identity import SlackProfile, SlackProfileError


class SlackProfiles:
    """The workspace's member profiles, read with the bot token's client."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def home_team(self) -> str:
        """The workspace the bot is installed in (Slack docs: auth.test, `team_id`)."""
        response = await self._client.auth_test()
        return str(response.get("team_id") or "")

    async def profile(self, slack_user: str) -> SlackProfile:
        try:
            response = await self._client.users_info(user=slack_user)
        except SlackApiError as exc:
            raise SlackProfileError(str(exc.response.get("error", "unknown_error"))) from exc
        user = response.get("user") or {}
        return SlackProfile(
            email=(user.get("profile") or {}).get("email"),
            team=str(user.get("team_id") or ""),
            is_bot=bool(user.get("is_bot")),
            deleted=bool(user.get("deleted")),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        )
