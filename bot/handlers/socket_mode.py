"""Socket Mode envelopes: each readable one dispatched to Bolt, every one acknowledged once.

slack_sdk turns an envelope into a `SocketModeRequest` and Bolt into a request object; a payload
of an unexpected type or shape raises there, which slack_sdk logs with a traceback and leaves
unacknowledged, so Slack delivers it again and again (slack_sdk
`slack_sdk/socket_mode/async_client.py` `run_message_listeners`; bolt-python
`slack_bolt/adapter/socket_mode/async_internals.py` acks only a 200). Here the envelope's payload
is read with the same checks as an HTTP body first: an unreadable one is acknowledged empty and
logged once, in one line; a readable one is dispatched and always acknowledged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Final

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.inbound import UnreadableRequest, read_payload

logger = logging.getLogger(__name__)

ENVELOPE_TYPES: Final = frozenset({"events_api", "interactive", "slash_commands"})


def _retry_headers(message: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    """Slack's retry fields as the HTTP retry headers Bolt reads (bolt-python
    `slack_bolt/adapter/socket_mode/internals.py` `build_headers`), when well-formed."""
    headers: dict[str, str | Sequence[str]] = {}
    attempt, reason = message.get("retry_attempt"), message.get("retry_reason")
    if isinstance(attempt, int) and not isinstance(attempt, bool):
        headers["x-slack-retry-num"] = str(attempt)
    if isinstance(reason, str):
        headers["x-slack-retry-reason"] = reason
    return headers


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, reading each envelope itself instead of slack_sdk's request
    listener path."""

    def __init__(self, app: AsyncApp, *, app_token: str) -> None:
        super().__init__(app, app_token=app_token)
        self.client.socket_mode_request_listeners.clear()
        self.client.message_listeners.append(self.on_message)

    async def on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        kind, envelope_id = message.get("type"), message.get("envelope_id")
        if kind not in ENVELOPE_TYPES:
            return  # hello, disconnect and other frames are the client's own business
        if not isinstance(envelope_id, str) or not envelope_id:
            logger.warning("a Socket Mode %s envelope came without an envelope id", kind)
            return
        started = time.time()
        try:
            payload = read_payload(message.get("payload"))
        except UnreadableRequest as exc:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))
            logger.warning("acknowledged an unreadable Socket Mode %s envelope: %s", kind, exc)
            return
        request = SocketModeRequest(type=str(kind), envelope_id=envelope_id, payload=payload)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(mode="socket_mode", body=payload, headers=_retry_headers(message))
        )
        if response.status != 200:
            logger.warning(
                "a Socket Mode %s envelope got status %d; acknowledged", kind, response.status
            )
            response = BoltResponse(status=200)
        await send_async_response(client, request, response, started)
