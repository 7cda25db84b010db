"""slack_sdk's rate-limit retry runs only within the per-call budget: short waits are
retried, a long Retry-After reaches the caller at once as the 429 it is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.retries import CappedRateLimitRetryHandler
from tests.fakes.slack_server import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel("C111", "alerts")
        yield fake


def client(slack: FakeSlack, max_wait: float) -> AsyncWebClient:
    handler = CappedRateLimitRetryHandler(max_retry_count=5, max_wait=max_wait)
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[handler])


async def test_short_waits_are_retried_within_the_budget(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", 2, status=429, retry_after=1)
    reply = await client(slack, max_wait=2).chat_postMessage(channel="C111", text="x")
    assert reply["ok"]
    assert len(slack.calls("chat.postMessage")) == 3


async def test_waits_beyond_the_budget_reach_the_caller(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", 3, status=429, retry_after=1)
    with pytest.raises(SlackApiError) as caught:
        await client(slack, max_wait=2).chat_postMessage(channel="C111", text="x")
    assert caught.value.response.status_code == 429
    assert len(slack.calls("chat.postMessage")) == 3  # two retries of 1 s, then the budget


async def test_a_long_retry_after_is_not_slept(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=3600)
    with pytest.raises(SlackApiError) as caught:
        await client(slack, max_wait=5).chat_postMessage(channel="C111", text="x")
    assert caught.value.response.headers["Retry-After"] == "3600"
    assert len(slack.calls("chat.postMessage")) == 1
    assert slack.messages() == []
