"""The fake Slack's Socket Mode endpoint: the `/link` WebSocket, envelopes out, acks in.

Protocol per Slack's docs (Using Socket Mode; apps.connections.open) and python-slack-sdk
(`slack_sdk/socket_mode/`, and its test server `tests/slack_sdk/socket_mode/`):

1. the client gets `ws://…/link/?ticket=…&app_id=…` from `apps.connections.open`;
2. on connect the server sends `hello` (`slack_examples/socket_mode_hello.json`);
3. the server sends envelopes `{"envelope_id", "type": "slash_commands"|"interactive"|
   "events_api", "payload", "accepts_response_payload", ["retry_attempt", "retry_reason"]}`
   (`slack_sdk/socket_mode/request.py`);
4. the client acks with `{"envelope_id", ["payload"]}` (`slack_sdk/socket_mode/response.py`);
5. the server may send `{"type": "disconnect", "reason": …}`, after which the client opens a new
   connection through `apps.connections.open` (`slack_sdk/socket_mode/client.py`).

`SocketHub` runs on the fake's event loop; every state change happens under the fake's condition
and notifies it, so tests wait on acks and connections without polling.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
RESPONSE_PAYLOAD_INTERACTIONS = frozenset({"block_suggestion", "view_submission"})


@dataclass
class SocketConnection:
    id: int
    ws: web.WebSocketResponse
    ticket: str
    opened_at: float = field(default_factory=time.monotonic)
    retiring: bool = False
    """A disconnect frame was sent; the client is expected to move to a new connection."""
    ready: bool = False
    """The hello frame has been sent."""
    closed: bool = False


@dataclass(frozen=True)
class SentEnvelope:
    envelope_id: str
    frame: dict[str, Any]
    connection_id: int
    sent_at: float


@dataclass(frozen=True)
class SocketAck:
    """An ack frame and how long after its envelope was sent it arrived (the 3-second budget)."""

    envelope_id: str
    frame: dict[str, Any]
    elapsed: float
    received_at: float


class SocketHub:
    def __init__(self, cond: threading.Condition, *, app_id: str) -> None:
        self._cond = cond
        self.app_id = app_id
        self.connections: list[SocketConnection] = []
        self.envelopes: dict[str, SentEnvelope] = {}
        self.acks: dict[str, SocketAck] = {}
        self.other_frames: list[dict[str, Any]] = []
        self.tickets: set[str] = set()
        self._ids = itertools.count(1)
        self.connects = 0

    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return ticket

    def live(self) -> list[SocketConnection]:
        return [c for c in self.connections if c.ready and not c.closed and not c.retiring]

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.live()) + 1,
            "debug_info": {
                "host": "applink-fake",
                "build_number": 10,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    @staticmethod
    def envelope(
        envelope_type: EnvelopeType,
        payload: dict[str, Any],
        *,
        retry_attempt: int,
        retry_reason: str,
    ) -> dict[str, Any]:
        accepts = envelope_type == "slash_commands" or (
            envelope_type == "interactive"
            and isinstance(payload, dict)  # tests also send payloads Slack never would
            and payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS
        )
        frame: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": copy.deepcopy(payload),
            "type": envelope_type,
            "accepts_response_payload": accepts,
        }
        if envelope_type == "events_api" or retry_attempt:
            frame["retry_attempt"] = retry_attempt
            frame["retry_reason"] = retry_reason
        return frame

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for `/link`: hello, then record acks until the socket closes."""
        ticket = request.query.get("ticket", "")
        with self._cond:
            known = ticket in self.tickets
            self.tickets.discard(ticket)
        if not known:
            raise web.HTTPUnauthorized(text="invalid ticket")
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        with self._cond:
            connection = SocketConnection(id=next(self._ids), ws=ws, ticket=ticket)
            self.connections.append(connection)
            self.connects += 1
            hello = self.hello()
        await ws.send_json(hello)
        with self._cond:
            connection.ready = True
            self._cond.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(json.loads(message.data))
        finally:
            with self._cond:
                connection.closed = True
                self._cond.notify_all()
        return ws

    def _receive(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._cond:
            envelope_id = frame.get("envelope_id")
            sent = self.envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if sent is not None and envelope_id not in self.acks:
                self.acks[sent.envelope_id] = SocketAck(
                    envelope_id=sent.envelope_id,
                    frame=frame,
                    elapsed=now - sent.sent_at,
                    received_at=now,
                )
            else:
                self.other_frames.append(frame)
            self._cond.notify_all()

    async def send(self, connection: SocketConnection, frame: dict[str, Any]) -> None:
        await connection.ws.send_json(frame)

    async def close_all(self) -> None:
        for connection in list(self.connections):
            if not connection.ws.closed:
                await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
