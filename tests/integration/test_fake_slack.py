"""The fake Slack answers slack_sdk and slack_bolt the way Slack does (tests/fakes/README.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import slack_requests
from tests.fakes.slack_server import FakeSlack

CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "*ZeroDivisionError*"}}]
METADATA = {"event_type": "sentry_issue", "event_payload": {"issue_id": "42"}}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_channel("C111", "alerts")
        fake.add_channel("C222", "elsewhere", member=False)
        fake.add_channel("C333", "old", archived=True)
        fake.add_user("U111", "ada@example.com", "ada")
        fake.add_user("U999", "eve@other.example", "eve", team_id="T999")
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


async def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def test_auth_test_names_the_bot(slack: FakeSlack, client: AsyncWebClient) -> None:
    reply = await client.auth_test()
    assert reply["user_id"] == "W23456789"
    assert reply["bot_id"] == "BZYBOTHED"
    assert reply["team_id"] == "T111"
    call = slack.calls("auth.test")[0]
    assert call.token.startswith("xoxb-…")
    assert slack.bot_token not in call.token


async def test_post_update_and_history_with_metadata(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(
        channel="C111", text="[api] boom", blocks=CARD, metadata=METADATA
    )
    assert posted["ts"] == "1700000000.000100"
    assert posted["message"]["blocks"] == CARD
    assert posted["message"]["bot_id"] == "BZYBOTHED"
    reply = await client.chat_postMessage(channel="C111", text="regressed", thread_ts=posted["ts"])
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "resolved"}}]
    updated = await client.chat_update(
        channel="C111", ts=posted["ts"], text="[api] boom (resolved)", blocks=new_blocks
    )
    assert updated["message"]["edited"]["user"] == "W23456789"

    history = await client.conversations_history(channel="C111")
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]]
    assert "metadata" not in history["messages"][0]
    assert history["messages"][0]["reply_count"] == 1
    with_metadata = await client.conversations_history(channel="C111", include_all_metadata=True)
    assert with_metadata["messages"][0]["metadata"] == METADATA

    card = slack.message("C111", posted["ts"])
    assert card.text == "[api] boom (resolved)"
    assert card.blocks == new_blocks
    assert card.metadata == METADATA
    assert [(e.text, e.blocks, e.via) for e in card.edits] == [("[api] boom", CARD, "chat.update")]
    assert [m.thread_ts for m in slack.messages("C111")] == [None, posted["ts"]]
    replies = await client.conversations_replies(channel="C111", ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]


async def test_history_is_newest_first_with_cursor_pagination_and_ranges(
    client: AsyncWebClient,
) -> None:
    posted = [(await client.chat_postMessage(channel="C111", text=f"m{i}"))["ts"] for i in range(5)]
    first = await client.conversations_history(channel="C111", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_history(channel="C111", limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    cursor = second["response_metadata"]["next_cursor"]
    third = await client.conversations_history(channel="C111", limit=2, cursor=cursor)
    assert [m["text"] for m in third["messages"]] == ["m0"]
    assert third["has_more"] is False
    assert "response_metadata" not in third.data

    window = await client.conversations_history(channel="C111", oldest=posted[1], latest=posted[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = await client.conversations_history(
        channel="C111", oldest=posted[1], latest=posted[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    bad = await error_of(client.conversations_history(channel="C111", cursor="garbage"))
    assert bad.response["error"] == "invalid_cursor"


async def test_invalid_blocks_are_refused_like_slack(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    error = await error_of(client.chat_postMessage(channel="C111", text="t", blocks=too_long))
    assert error.response.status_code == 200
    assert error.response.data == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": [
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ],
        "response_metadata": {
            "messages": [
                "[ERROR] failed to match all allowed schemas [json-pointer:/blocks/0/text]",
                "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
            ]
        },
    }
    too_many = [{"type": "divider"}] * 51
    error = await error_of(client.chat_postMessage(channel="C111", text="t", blocks=too_many))
    assert error.response["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert slack.messages() == []


async def test_channel_errors(client: AsyncWebClient) -> None:
    for channel, code in [
        ("C404", "channel_not_found"),
        ("C333", "is_archived"),
    ]:
        error = await error_of(client.chat_postMessage(channel=channel, text="hi"))
        assert error.response["error"] == code


async def test_text_rules(slack: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.warns(UserWarning, match="top-level `text` argument is missing"):
        error = await error_of(client.chat_postMessage(channel="C111", text=""))
    assert error.response["error"] == "no_text"
    reply = await client.chat_postMessage(channel="C111", text="y" * 40_001)
    assert reply["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(slack.messages("C111")[0].text) == 40_000


async def test_update_and_delete_unknown_messages(client: AsyncWebClient) -> None:
    error = await error_of(client.chat_update(channel="C111", ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"
    error = await error_of(client.chat_delete(channel="C111", ts="1.000001"))
    assert error.response["error"] == "message_not_found"


async def test_ephemeral_users_and_views(slack: FakeSlack, client: AsyncWebClient) -> None:
    reply = await client.chat_postEphemeral(channel="C111", user="U111", text="only you")
    assert reply["message_ts"]
    assert [e.text for e in slack.ephemerals("U111")] == ["only you"]
    info = await client.users_info(user="U111")
    assert info["user"]["profile"]["email"] == "ada@example.com"
    assert info["user"]["team_id"] == "T111"
    found = await client.users_lookupByEmail(email="ADA@example.com")
    assert found["user"]["id"] == "U111"
    error = await error_of(client.users_lookupByEmail(email="nobody@example.com"))
    assert error.response["error"] == "users_not_found"
    error = await error_of(client.conversations_info(channel="C222"))
    assert error.response["needed"] == "channels:read"  # not in the manifest
    slack.set_scopes(["channels:read"])
    channel = await client.conversations_info(channel="C222")
    assert channel["channel"]["is_member"] is False

    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Ignore issue"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "How long?"}}],
    }
    opened = await client.views_open(trigger_id="111.222.valid", view=view)
    assert opened["view"]["id"].startswith("V")
    error = await error_of(client.views_open(trigger_id="111.222.valid", view=view))
    assert error.response["error"] == "invalid_arguments"
    await client.views_update(view_id=opened["view"]["id"], view={**view, "blocks": CARD})
    assert [v.view["blocks"] for v in slack.views()] == [CARD]


async def test_token_states(slack: FakeSlack, client: AsyncWebClient) -> None:
    stranger = AsyncWebClient(token="xoxb-unknown", base_url=slack.api_url)
    assert (await error_of(stranger.auth_test())).response["error"] == "invalid_auth"
    for state in ("token_revoked", "account_inactive", "invalid_auth"):
        slack.set_token_state(state)
        assert (await error_of(client.auth_test())).response["error"] == state
    slack.set_token_state("ok")
    assert (await client.auth_test())["ok"]


async def test_rate_limit_is_retried_by_slack_sdks_handler(slack: FakeSlack) -> None:
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    reply = await client.chat_postMessage(channel="C111", text="after a wait")
    assert reply["ok"]
    assert len(slack.calls("chat.postMessage")) == 2
    assert [m.text for m in slack.messages()] == ["after a wait"]


async def test_post_rate_per_channel_answers_429(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.enforce_post_rate(per_channel_per_sec=1.0, burst=2)
    await client.chat_postMessage(channel="C111", text="1")
    await client.chat_postMessage(channel="C111", text="2")
    error = await error_of(client.chat_postMessage(channel="C111", text="3"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    assert error.response["error"] == "ratelimited"
    assert len(slack.messages("C111")) == 2


async def test_fault_switches(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.error_next("chat.update", "edit_window_closed")
    error = await error_of(client.chat_update(channel="C111", ts="1.1", text="x"))
    assert error.response["error"] == "edit_window_closed"

    slack.fail_next("*", status=503, retry_after=None)
    error = await error_of(client.auth_test())
    assert error.response.status_code == 503

    slack.slow_next("auth.test", 0.3)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3


async def test_drop_applies_the_post_then_hangs_up(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.drop_next("chat.postMessage")
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel="C111", text="did it post?")
    assert [m.text for m in slack.messages("C111")] == ["did it post?"]
    assert (await client.chat_postMessage(channel="C111", text="next"))["ok"]


async def test_response_url_replace_post_and_ephemeral(slack: FakeSlack) -> None:
    card = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    posted = await card.chat_postMessage(channel="C111", text="card", blocks=CARD)
    url = slack.new_response_url(channel="C111", message_ts=posted["ts"], user="U111")
    webhook = AsyncWebhookClient(url)

    replaced = await webhook.send(text="card v2", blocks=CARD, replace_original=True)
    assert (replaced.status_code, replaced.body) == (200, "ok")
    assert slack.message("C111", posted["ts"]).text == "card v2"
    assert slack.message("C111", posted["ts"]).edits[0].via == "response_url"

    await webhook.send(text="for everyone", response_type="in_channel")
    await webhook.send(text="just you")
    assert [m.text for m in slack.messages("C111")] == ["card v2", "for everyone"]
    assert [e.text for e in slack.ephemerals("U111")] == ["just you"]
    bad = await webhook.send(blocks=[{"type": "divider"}] * 51)
    assert bad.status_code == 400
    await webhook.send(delete_original=True)
    assert [m.text for m in slack.messages("C111")] == ["for everyone"]
    assert [p.outcome for p in slack.response_posts()] == [
        "replaced",
        "posted",
        "ephemeral",
        "invalid_blocks",
        "deleted",
    ]


async def test_wait_for_wakes_on_requests_and_times_out(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    waiter = asyncio.create_task(
        slack.wait_for_async(lambda: len(slack.messages("C111")) == 1, timeout=5)
    )
    await client.chat_postMessage(channel="C111", text="wake up")
    await waiter
    with pytest.raises(TimeoutError):
        slack.wait_for(lambda: False, timeout=0.05)


@pytest.fixture
async def socket_app(slack: FakeSlack) -> AsyncIterator[AsyncSocketModeHandler]:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret="unused-in-socket-mode",
    )

    @app.command("/sentry")
    async def sentry(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(response_type="ephemeral", text=f"got: {command['text']}")

    handler = AsyncSocketModeHandler(app, app_token=slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    yield handler
    await handler.close_async()  # type: ignore[no-untyped-call]


async def test_socket_mode_handshake_and_slash_command_ack(
    slack: FakeSlack, socket_app: AsyncSocketModeHandler
) -> None:
    await slack.wait_connected_async(timeout=10)
    assert slack.calls("apps.connections.open")[0].token.startswith("xapp-…")
    payload = slack_requests.slash_command("help", user_id="U111")
    envelope_id = await asyncio.to_thread(slack.send_envelope, "slash_commands", payload)
    frame = await slack.wait_for_ack_async(envelope_id, timeout=5)
    assert frame == {
        "envelope_id": envelope_id,
        "payload": {"text": "got: help", "response_type": "ephemeral"},
    }
    assert slack.ack(envelope_id).elapsed < 3

    slack.disconnect("refresh_requested")
    await slack.wait_connected_async(timeout=10)
    assert slack.socket_connects == 2
    assert len(slack.calls("apps.connections.open")) == 2
    envelope_id = await asyncio.to_thread(
        slack.send_envelope, "slash_commands", slack_requests.slash_command("again")
    )
    frame = await slack.wait_for_ack_async(envelope_id, timeout=5)
    assert frame["payload"]["text"] == "got: again"


async def test_apps_connections_open_needs_the_app_token(slack: FakeSlack) -> None:
    with_bot_token = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    error = await error_of(with_bot_token.apps_connections_open(app_token=slack.bot_token))
    assert error.response["error"] == "not_allowed_token_type"
    opened = await with_bot_token.apps_connections_open(app_token=slack.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{slack.url.rsplit(':', 1)[1]}/link/?ticket=")


async def test_signed_http_requests_reach_a_bolt_app(slack: FakeSlack) -> None:
    secret = "http-mode-secret"
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=secret,
    )

    @app.command("/sentry")
    async def sentry(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(response_type="ephemeral", text=f"http: {command['text']}")

    @app.action("button")
    async def clicked(ack: AsyncAck) -> None:
        await ack()

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/slack/events"
        body = slack_requests.form_body(slack_requests.slash_command("issues"))
        now = int(time.time())
        reply = await asyncio.to_thread(
            slack_requests.post_to_bot, url, body, slack_requests.sign(body, secret, now)
        )
        assert (reply.status, reply.json()) == (
            200,
            {"text": "http: issues", "response_type": "ephemeral"},
        )
        assert reply.elapsed < 3
        stale = slack_requests.sign(body, secret, now - 301)
        reply = await asyncio.to_thread(slack_requests.post_to_bot, url, body, stale)
        assert reply.status == 401

        message = {
            "ts": "1700000000.000100",
            "text": "card",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "b",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "button",
                            "text": {"type": "plain_text", "text": "Go"},
                        }
                    ],
                }
            ],
        }
        action = slack_requests.action_for(message["blocks"], "button")  # type: ignore[arg-type]
        payload = slack_requests.block_actions(
            "U111", "T111", "C111", message, action, slack.new_response_url()
        )
        body = slack_requests.interactive_body(payload)
        reply = await asyncio.to_thread(
            slack_requests.post_to_bot, url, body, slack_requests.sign(body, secret, now)
        )
        assert reply.status == 200
    finally:
        await runner.cleanup()
