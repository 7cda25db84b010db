"""slack_sdk's rate-limit retry, allowed only for short waits within a per-call budget.

slack_sdk's `AsyncRateLimitErrorRetryHandler` sleeps whatever `Retry-After` says, which for a
channel Slack limits for an hour would hold the poll cycle (and every other channel) for that
hour. This handler lets it retry only while the `Retry-After` values of one call add up to at
most `max_wait` seconds (slack_sdk adds under a second of jitter to each wait); a longer limit
reaches the caller as HTTP 429, whose `Retry-After` the notifier records so only that channel
waits. The wait itself is still slack_sdk's.
"""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack.answers import retry_after_seconds

_SPENT = "rate_limit_wait_seconds"


class CappedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Retries a 429 only while this call's waits stay within `max_wait` seconds."""

    def __init__(self, *, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    @staticmethod
    def _spent(state: RetryState) -> float:
        spent = (state.custom_values or {}).get(_SPENT, 0.0)
        return float(spent) if isinstance(spent, int | float) else 0.0

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        return self._spent(state) + wait <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is not None:
            wait = retry_after_seconds(response.headers)
            state.custom_values = {**(state.custom_values or {}), _SPENT: self._spent(state) + wait}
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )
