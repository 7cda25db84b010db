"""Posting and updating channel messages, with every Slack failure classified.

Each call answers with what certainly happened: `Posted`, `Refused` (Slack said
no, so nothing was posted: safe to try again later) or `Uncertain` (the request
may have reached Slack: only the channel history can tell). Posts are therefore
never retried blindly on a broken connection; rate limits (HTTP 429 with
`Retry-After`) are retried by slack_sdk's handler, because a 429 is never posted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics

logger = logging.getLogger(__name__)

# What an operator must do for each refusal (Slack error codes: chat.postMessage docs).
FIXES: dict[str, str] = {
    "not_in_channel": "invite the bot to <#{channel}> (type /invite @Sentry in the channel)",
    "channel_not_found": "check the channel ID {channel}, or invite the bot if it is private",
    "is_archived": "unarchive <#{channel}> or route its issues elsewhere",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid; reinstall the app and update the token",
    "token_revoked": "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "account_inactive": "the bot user is deactivated; reinstall the app",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "missing_scope": "add the missing scope to the app and reinstall it",
    "ratelimited": "Slack is rate-limiting this channel; the rest is posted on the next cycle",
    "invalid_blocks": "the message was refused as malformed; please report this",
}
CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "ratelimited"}
WORKSPACE_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed"}


@dataclass(frozen=True, slots=True)
class Posted:
    ts: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Slack answered and did not post. `scope` says how far the problem reaches."""

    error: str
    scope: Literal["message", "channel", "workspace"]
    fix: str


@dataclass(frozen=True, slots=True)
class Uncertain:
    reason: str


Outcome = Posted | Refused | Uncertain


def _refusal(error: str, channel: str) -> Refused:
    scope: Literal["message", "channel", "workspace"] = "message"
    if error in CHANNEL_ERRORS:
        scope = "channel"
    elif error in WORKSPACE_ERRORS or error == "missing_scope":
        scope = "workspace"
    fix = FIXES.get(error, "see Slack's error reference for " + error).format(channel=channel)
    return Refused(error=error, scope=scope, fix=fix)


class SlackNotifier:
    """Channel messages through two clients: posts without blind connection retries."""

    def __init__(self, *, client: AsyncWebClient, post_client: AsyncWebClient, metrics: Metrics):
        self._client = client
        self._post_client = post_client
        self._metrics = metrics

    async def _call(
        self, client: AsyncWebClient, method: str, channel: str, **kwargs: Any
    ) -> Outcome:
        with self._metrics.slack_seconds.labels(method).time():
            return await self._classified_call(client, method, channel, **kwargs)

    async def _classified_call(
        self, client: AsyncWebClient, method: str, channel: str, **kwargs: Any
    ) -> Outcome:
        try:
            response = await client.api_call(method, json={"channel": channel, **kwargs})
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"http_{status}")
            if status == 429:
                error = "ratelimited"
            elif status >= 500:
                self._metrics.slack_calls.labels(method, "uncertain").inc()
                return Uncertain(f"Slack answered HTTP {status}")
            self._metrics.slack_calls.labels(method, error).inc()
            return _refusal(error, channel)
        except Exception as exc:  # transport errors of aiohttp, timeouts
            self._metrics.slack_calls.labels(method, "uncertain").inc()
            return Uncertain(f"{type(exc).__name__}: {exc}")
        self._metrics.slack_calls.labels(method, "ok").inc()
        return Posted(ts=str(response.get("ts") or kwargs.get("ts") or ""))

    async def post(
        self,
        channel: str,
        message: Mapping[str, Any],
        *,
        metadata: Mapping[str, Any] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> Outcome:
        extra: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
        if metadata is not None:
            extra["metadata"] = dict(metadata)
        if thread_ts is not None:
            extra["thread_ts"] = thread_ts
            extra["reply_broadcast"] = reply_broadcast
        return await self._call(
            self._post_client, "chat.postMessage", channel, **dict(message), **extra
        )

    async def update(
        self,
        channel: str,
        ts: str,
        message: Mapping[str, Any],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> Outcome:
        extra: dict[str, Any] = {"ts": ts}
        if metadata is not None:
            extra["metadata"] = dict(metadata)
        return await self._call(self._client, "chat.update", channel, **dict(message), **extra)

    async def find_posted(
        self, channel: str, *, since: datetime, event_types: tuple[str, ...]
    ) -> dict[str, str] | None:
        """Map issue id -> ts for the bot's messages in a channel since a moment.

        Reads the channel history with `include_all_metadata` (conversations.history
        docs) and decodes the payloads the bot itself wrote. None when the history
        cannot be read (then nothing may be assumed about what was posted).
        """
        messages = await self.find_metadata(channel, since=since, event_types=event_types)
        if messages is None:
            return None
        found: dict[str, str] = {}
        for payload, ts in messages:
            for issue_id in str(payload.get("issue_ids", payload.get("issue_id", ""))).split(","):
                if issue_id:
                    found.setdefault(issue_id, ts)
        return found

    async def find_metadata(
        self, channel: str, *, since: datetime, event_types: tuple[str, ...]
    ) -> list[tuple[dict[str, Any], str]] | None:
        """(metadata payload, ts) of the bot's messages of these event types since a moment,
        newest first; None when the history cannot be read."""
        found: list[tuple[dict[str, Any], str]] = []
        cursor: str | None = None
        while True:
            try:
                response = await self._client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except Exception as exc:
                logger.warning("cannot read the history of %s to reconcile posts: %s", channel, exc)
                self._metrics.slack_calls.labels("conversations.history", "error").inc()
                return None
            self._metrics.slack_calls.labels("conversations.history", "ok").inc()
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") not in event_types:
                    continue
                payload = meta.get("event_payload") or {}
                found.append((dict(payload), str(message.get("ts"))))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return found

    async def find_reply(
        self, channel: str, thread_ts: str, *, event_type: str, key: str
    ) -> str | bool | None:
        """The ts of the bot's reply in a thread whose metadata payload has `key` as its
        `reply_key`; False when none is there, None when the thread cannot be read."""
        cursor: str | None = None
        while True:
            try:
                response = await self._client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except Exception as exc:
                logger.warning("cannot read the thread %s in %s: %s", thread_ts, channel, exc)
                self._metrics.slack_calls.labels("conversations.replies", "error").inc()
                return None
            self._metrics.slack_calls.labels("conversations.replies", "ok").inc()
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == event_type and payload.get("reply_key") == key:
                    return str(message.get("ts"))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return False
