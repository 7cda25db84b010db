"""The fake Slack's channel membership and scope rules, each checked through slack_sdk.

Sources: Slack docs for chat.postMessage (errors `not_in_channel`, `channel_not_found`), the
`chat:write.public` scope, conversations.history / conversations.replies (scopes
`channels:history` / `groups:history`; a bot outside the channel gets `not_in_channel`) and
conversations.join (`channels:join`, public channels only, `is_archived`, `already_in_channel`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_web import DEFAULT_BOT_SCOPES


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_channel("C111", "joined")
        fake.add_channel("C222", "public-not-joined", member=False)
        fake.add_channel("G333", "private-not-joined", member=False, is_private=True)
        fake.add_channel("G444", "private-joined", is_private=True)
        fake.add_channel("C555", "archived", member=False, archived=True)
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


async def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        await call
    data: dict[str, Any] = caught.value.response.data  # type: ignore[assignment]
    return data


async def test_chat_write_public_posts_to_a_public_channel_without_joining(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    reply = await client.chat_postMessage(channel="C222", text="card")
    assert reply["channel"] == "C222"
    assert [m.text for m in slack.messages("C222")] == ["card"]
    assert not slack.channel("C222").member


async def test_without_chat_write_public_a_public_channel_needs_membership(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.set_scopes(DEFAULT_BOT_SCOPES - {"chat:write.public"})
    assert (await error_of(client.chat_postMessage(channel="C222", text="x")))[
        "error"
    ] == "not_in_channel"
    assert (await client.chat_postMessage(channel="C111", text="x"))["ok"]


async def test_private_channels_need_membership_and_are_invisible_without_it(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    error = await error_of(client.chat_postMessage(channel="G333", text="x"))
    assert error["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="G444", text="x"))["ok"]
    assert slack.messages("G333") == []


async def test_history_and_replies_need_membership(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C222", text="card")
    for call in (
        client.conversations_history(channel="C222"),
        client.conversations_replies(channel="C222", ts=posted["ts"]),
    ):
        assert (await error_of(call))["error"] == "not_in_channel"
    history = await error_of(client.conversations_history(channel="G333"))
    assert history["error"] == "channel_not_found"


@pytest.mark.parametrize(
    ("channel", "scope"), [("C111", "channels:history"), ("G444", "groups:history")]
)
async def test_history_needs_the_history_scope_of_its_channel_type(
    slack: FakeSlack, client: AsyncWebClient, channel: str, scope: str
) -> None:
    slack.set_scopes(DEFAULT_BOT_SCOPES - {scope})
    error = await error_of(client.conversations_history(channel=channel))
    assert error["error"] == "missing_scope"
    assert error["needed"] == scope
    assert scope not in error["provided"].split(",")


async def test_join_makes_history_readable_including_what_was_posted_before(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C222", text="before joining")
    joined = await client.conversations_join(channel="C222")
    assert joined["channel"]["is_member"] is True
    assert "warning" not in joined.data  # type: ignore[operator]
    history = await client.conversations_history(channel="C222")
    assert [m["text"] for m in history["messages"]] == ["before joining"]
    again = await client.conversations_join(channel="C222")
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"]["warnings"] == ["already_in_channel"]


async def test_join_needs_channels_join(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.set_scopes(DEFAULT_BOT_SCOPES - {"channels:join"})
    error = await error_of(client.conversations_join(channel="C222"))
    assert (error["error"], error["needed"]) == ("missing_scope", "channels:join")
    assert not slack.channel("C222").member


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ("G444", "method_not_supported_for_channel_type"),
        ("G333", "channel_not_found"),
        ("C555", "is_archived"),
        ("C404", "channel_not_found"),
    ],
)
async def test_join_works_for_open_public_channels_only(
    slack: FakeSlack, client: AsyncWebClient, channel: str, code: str
) -> None:
    assert (await error_of(client.conversations_join(channel=channel)))["error"] == code
