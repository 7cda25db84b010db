"""The test Slack delivers Events API events as Slack does, over HTTP and over Socket Mode.

Each delivery is checked against Slack's own shapes (`tests/fakes/slack_examples/`) and taken
through bolt-python's real dispatch (its signature verification in HTTP mode, its Socket Mode
handler), so an app tested against these deliveries meets the same bytes in production.
Sources are listed in tests/fakes/README.md ("Events API delivery").
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_requests as sr
from tests.fakes.slack_server import FakeSlack

EXAMPLES = Path(__file__).resolve().parents[1] / "fakes" / "slack_examples"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MENTION = {
    "type": "app_mention",
    "user": "U222",
    "text": "<@U111> hello",
    "ts": "1610241741.000200",
    "channel": "C111",
    "event_ts": "1610241741.000200",
}


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def test_a_delivery_has_every_field_of_slacks_callback() -> None:
    callback = sr.event_callback(MENTION)
    assert set(example("events_api_app_mention.json")) <= set(callback)
    envelope_payload = example("socket_mode_envelope_events_api_app_mention.json")["payload"]
    assert set(envelope_payload) <= set(callback)
    assert callback["type"] == "event_callback"
    assert callback["event"] == MENTION


def test_each_delivery_has_its_own_event_id_and_a_retry_keeps_it() -> None:
    ids = {sr.event_callback(MENTION)["event_id"] for _ in range(50)}
    assert len(ids) == 50
    first = sr.event_callback(MENTION)
    again = sr.event_callback(MENTION, event_id=first["event_id"])
    assert again["event_id"] == first["event_id"]


def test_an_http_delivery_is_signed_json_with_retry_headers() -> None:
    body, headers = sr.event_request(sr.event_callback(MENTION), SECRET, retry_num=2)
    assert headers["Content-Type"] == "application/json"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    assert json.loads(body)["event"] == MENTION
    _, first = sr.event_request(sr.event_callback(MENTION), SECRET)
    assert "X-Slack-Retry-Num" not in first


def test_the_socket_mode_envelope_has_slacks_shape() -> None:
    from tests.fakes.slack_socket import SocketHub

    frame = SocketHub.envelope(
        "events_api", sr.event_callback(MENTION), retry_attempt=0, retry_reason=""
    )
    assert set(frame) == set(example("socket_mode_envelope_events_api_app_mention.json"))
    assert frame["accepts_response_payload"] is False


@pytest.fixture
def slack() -> Any:
    with FakeSlack() as fake:
        yield fake


class Seen:
    """Events the listener received; `wait` returns once there is one."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._arrived.set()

    async def wait(self) -> list[dict[str, Any]]:
        await asyncio.wait_for(self._arrived.wait(), 5)
        return self.events


def bolt(slack: FakeSlack, seen: Seen, *, verify: bool) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SECRET,
        request_verification_enabled=verify,
    )

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any]) -> None:
        seen.add(event)

    return app


async def test_bolt_dispatches_a_signed_http_delivery_to_its_listener(slack: FakeSlack) -> None:
    seen = Seen()
    app = bolt(slack, seen, verify=True)
    body, headers = sr.event_request(sr.event_callback(MENTION), SECRET)
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert await seen.wait() == [MENTION]  # the listener runs after the ack
    forged, _ = sr.event_request(sr.event_callback(MENTION), "another-secret")
    refused = await app.async_dispatch(AsyncBoltRequest(body=forged, headers=headers))
    assert refused.status == 401


async def test_bolt_receives_and_acknowledges_a_socket_mode_delivery(slack: FakeSlack) -> None:
    seen = Seen()
    app = bolt(slack, seen, verify=False)
    handler = AsyncSocketModeHandler(app, app_token=slack.app_token)
    await handler.connect_async()
    try:
        envelope_id = await asyncio.to_thread(slack.send_event, sr.event_callback(MENTION))
        ack = await slack.wait_for_ack_async(envelope_id)
        assert ack == {"envelope_id": envelope_id}
        assert await seen.wait() == [MENTION]
    finally:
        await handler.close_async()


def test_send_event_takes_only_an_event_callback(slack: FakeSlack) -> None:
    with pytest.raises(ValueError, match="event_callback"):
        slack.send_event(MENTION)
