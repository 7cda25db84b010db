"""Posting and updating channel messages, with every Slack failure classified.

Each call answers with what certainly happened (`bot/slack/answers.py`): `Posted`, `Refused`
(Slack said no, so nothing was posted: safe to try again later) or `Uncertain` (the request
may have reached Slack: only the channel history can tell). Posts are therefore never retried
blindly on a broken connection. A rate limit (HTTP 429 with `Retry-After`) is retried by
slack_sdk's handler only while the wait is short (`bot/slack/retries.py`); a longer one parks
the channel on the `Stalls` board until it passes, and posts to it are refused here without
calling Slack, so one limited channel never holds up the others.

Reading a channel back (to settle a post whose answer was lost) needs membership, which a bot
posting through `chat:write.public` does not have: on `not_in_channel` the notifier joins the
public channel (conversations.join, scope `channels:join`) and reads again. Joining only when
a post must be settled keeps the bot out of channels it merely posts to.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.slack.answers import (
    BotMessage,
    HistoryPage,
    Outcome,
    Posted,
    Refused,
    Uncertain,
    Unreadable,
    error_code,
    parse_history_page,
    parse_post,
    parse_update,
    retry_after_seconds,
)
from bot.slack.stalls import Stalls

__all__ = ["BotMessage", "Outcome", "Posted", "Refused", "SlackNotifier", "Uncertain", "Unreadable"]

logger = logging.getLogger(__name__)

# What an operator must do for each refusal (Slack error codes: chat.postMessage and
# conversations.join docs).
FIXES: dict[str, str] = {
    "not_in_channel": "invite the bot to <#{channel}> (type /invite @Sentry in the channel)",
    "channel_not_found": "check the channel ID {channel}, or invite the bot if it is private",
    "is_archived": "unarchive <#{channel}> or route its issues elsewhere",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid; reinstall the app and update the token",
    "token_revoked": "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "account_inactive": "the bot user is deactivated; reinstall the app",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "missing_scope": "add the missing scope to the app and reinstall it",
    "ratelimited": "Slack is rate-limiting <#{channel}>; its posts go out once the limit ends",
    "invalid_blocks": "the message was refused as malformed; please report this",
    "method_not_supported_for_channel_type": "invite the bot to <#{channel}>",
}
CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "ratelimited"}
WORKSPACE_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed"}
MAX_PAGES = 50


def _refusal(error: str, channel: str, *, retry_after: float | None = None) -> Refused:
    scope: Literal["message", "channel", "workspace"] = "message"
    if error in CHANNEL_ERRORS:
        scope = "channel"
    elif error in WORKSPACE_ERRORS or error == "missing_scope":
        scope = "workspace"
    fix = FIXES.get(error, "see Slack's error reference for " + error).format(channel=channel)
    return Refused(error=error, scope=scope, fix=fix, retry_after=retry_after)


def _failure(exc: SlackApiError) -> tuple[int, str | None, float | None]:
    """Status, Slack's error code and (for a 429) the seconds Slack asks to wait.

    The code is None unless Slack clearly refused: a JSON object with `ok: false`, or a 429
    (never carried out). slack_sdk raises the same error for a body it could not read, with
    the raw aiohttp response attached: that answer proves nothing."""
    response: Any = exc.response
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        status = getattr(response, "status", 0)
        status = status if isinstance(status, int) else 0
    data = getattr(response, "data", None)
    if status == 429:
        return status, "ratelimited", retry_after_seconds(getattr(response, "headers", None))
    if isinstance(data, Mapping) and data.get("ok") is False:
        return status, error_code(status, data), None
    return status, None, None


class SlackNotifier:
    """Channel messages through two clients: posts without blind connection retries."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        post_client: AsyncWebClient,
        metrics: Metrics,
        stalls: Stalls | None = None,
    ) -> None:
        self._client = client
        self._post_client = post_client
        self._metrics = metrics
        self.stalls = stalls or Stalls(metrics=metrics)

    async def _call(
        self, client: AsyncWebClient, method: str, channel: str, ts: str | None, **kwargs: Any
    ) -> Outcome:
        with self._metrics.slack_seconds.labels(method).time():
            outcome = await self._classified_call(client, method, channel, ts, **kwargs)
        label = outcome.error if isinstance(outcome, Refused) else "ok"
        if isinstance(outcome, Uncertain):
            label = "uncertain"
        self._metrics.slack_calls.labels(method, label).inc()
        return outcome

    async def _classified_call(
        self, client: AsyncWebClient, method: str, channel: str, ts: str | None, **kwargs: Any
    ) -> Outcome:
        body = {"channel": channel, **kwargs}
        if ts is not None:
            body["ts"] = ts
        try:
            response = await client.api_call(method, json=body)
        except SlackApiError as exc:
            status, error, retry_after = _failure(exc)
            if status >= 500 or error is None:
                return Uncertain(f"Slack answered HTTP {status} with no readable refusal")
            if retry_after is not None:
                until = self.stalls.limit(channel, retry_after)
                logger.warning(
                    "Slack rate-limits %s in %s for %.0f s (until %s)",
                    method,
                    channel,
                    retry_after,
                    until.isoformat(),
                )
            return _refusal(error, channel, retry_after=retry_after)
        except Exception as exc:  # transport errors of aiohttp, timeouts, unparseable answers
            return Uncertain(f"{type(exc).__name__}: {exc}")
        if ts is None:
            return parse_post(response.data, channel=channel)
        return parse_update(response.data, channel=channel, ts=ts)

    async def post(
        self,
        channel: str,
        message: Mapping[str, Any],
        *,
        metadata: Mapping[str, Any] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> Outcome:
        until = self.stalls.limited_until(channel)
        if until is not None:
            # Parked after a long rate limit: Slack is not asked until it ends.
            self._metrics.slack_calls.labels("chat.postMessage", "deferred").inc()
            remaining = (until - self.stalls.now()).total_seconds()
            return _refusal("ratelimited", channel, retry_after=max(remaining, 0.0))
        extra: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
        if metadata is not None:
            extra["metadata"] = dict(metadata)
        if thread_ts is not None:
            extra["thread_ts"] = thread_ts
            extra["reply_broadcast"] = reply_broadcast
        return await self._call(
            self._post_client, "chat.postMessage", channel, None, **dict(message), **extra
        )

    async def update(
        self,
        channel: str,
        ts: str,
        message: Mapping[str, Any],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> Outcome:
        extra: dict[str, Any] = {}
        if metadata is not None:
            extra["metadata"] = dict(metadata)
        return await self._call(self._client, "chat.update", channel, ts, **dict(message), **extra)

    async def _join(self, channel: str) -> Unreadable | None:
        """Join a public channel so its history can be read; None once the bot is in."""
        try:
            await self._client.api_call("conversations.join", json={"channel": channel})
        except SlackApiError as exc:
            status, code, _ = _failure(exc)
            error = code or f"http_{status}"
            self._metrics.slack_calls.labels("conversations.join", error).inc()
            fix = _refusal(error, channel).fix
            if error == "missing_scope":
                fix = (
                    "add the channels:join scope to the app and reinstall it, or invite the bot "
                    f"to <#{channel}>"
                )
            return Unreadable(f"the bot is not in {channel} and cannot join it ({error}): {fix}")
        except Exception as exc:
            self._metrics.slack_calls.labels("conversations.join", "error").inc()
            return Unreadable(f"cannot join {channel}: {type(exc).__name__}")
        self._metrics.slack_calls.labels("conversations.join", "ok").inc()
        logger.info("joined %s to read back a post whose outcome was lost", channel)
        return None

    async def _read(self, method: str, channel: str, **params: Any) -> HistoryPage | Unreadable:
        """One page of history or of a thread, joining the channel once if the bot is not in it."""
        joined = False
        while True:
            try:
                response = await self._client.api_call(
                    method, http_verb="GET", params={"channel": channel, **params}
                )
            except SlackApiError as exc:
                status, code, _ = _failure(exc)
                error = code or f"http_{status}"
                self._metrics.slack_calls.labels(method, error).inc()
                if error == "not_in_channel" and not joined:
                    cannot = await self._join(channel)
                    if cannot is not None:
                        return cannot
                    joined = True
                    continue
                fix = _refusal(error, channel).fix
                return Unreadable(f"Slack refused {method} in {channel} ({error}): {fix}")
            except Exception as exc:
                self._metrics.slack_calls.labels(method, "error").inc()
                return Unreadable(f"{method} in {channel} failed: {type(exc).__name__}")
            page = parse_history_page(response.data)
            self._metrics.slack_calls.labels(
                method, "ok" if isinstance(page, HistoryPage) else "malformed"
            ).inc()
            return page

    async def read_back(
        self, channel: str, *, since: datetime, thread_ts: str | None = None
    ) -> list[BotMessage] | Unreadable:
        """The messages carrying metadata in a channel since a moment, or in one whole thread.

        One reader for both places a post can be: the channel history
        (`conversations.history` with `oldest`) or a thread (`conversations.replies` with
        `ts`, read from its start), each with `include_all_metadata` (Slack docs:
        conversations.history, conversations.replies), page after page. `Unreadable` when
        either cannot be read (then nothing may be assumed about what was posted).
        """
        method = "conversations.history" if thread_ts is None else "conversations.replies"
        where = channel if thread_ts is None else f"the thread {thread_ts} in {channel}"
        found: list[BotMessage] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"include_all_metadata": "true", "limit": 200}
            if thread_ts is None:
                params["oldest"] = f"{since.timestamp():.6f}"
            else:
                params["ts"] = thread_ts
            if cursor:
                params["cursor"] = cursor
            page = await self._read(method, channel, **params)
            if isinstance(page, Unreadable):
                logger.warning("cannot read %s to settle posts: %s", where, page)
                return page
            found += page.messages
            cursor = page.next_cursor
            if not cursor:
                return found
        return Unreadable(f"{where} has more than {MAX_PAGES} pages to read")
