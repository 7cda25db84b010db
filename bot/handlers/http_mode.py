"""`POST /slack/events` in HTTP mode: verify the raw bytes, read the body, then let Bolt dispatch.

Order matters (Slack docs: "Verifying requests from Slack"): the signature and the 5-minute
timestamp window are checked with slack_sdk's `SignatureVerifier` on the bytes as received, before
anything is parsed, so an unsigned request is 401 however malformed it is. A signed body that is
not a Slack request this app can read (not UTF-8, not JSON where JSON is due, a field of the wrong
type) is 400 with a short text, before Bolt sees it; Bolt gets the body read here, never re-reads
it. Anything Bolt then dispatches is answered 200 by a listener or by the fallbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import Clock, SignatureVerifier

from bot.slack.inbound import UnreadableRequest, read_http_body

logger = logging.getLogger(__name__)


def bolt_request(
    raw: str, body: dict[str, Any], *, query: str, headers: dict[str, str]
) -> AsyncBoltRequest:
    """An HTTP-mode Bolt request carrying the body already read (Bolt's own `parse_body` is
    bypassed) and the raw text, which Bolt's verification middleware checks once more.

    Bolt builds its context from a dict only in its Socket Mode constructor path; the mode and
    raw body are then set to what an HTTP request has.
    """
    request = AsyncBoltRequest(body=body, query=query, headers=dict(headers), mode="socket_mode")
    request.mode = "http"
    request.raw_body = raw
    return request


class SlackHttpEndpoint:
    """The aiohttp handler of Slack's requests in HTTP mode."""

    def __init__(self, bolt: AsyncApp, *, signing_secret: str, clock: Clock | None = None) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret, clock=clock or Clock())

    def _signed(self, raw: bytes, headers: dict[str, str]) -> bool:
        """Valid signature within the replay window; a header the verifier cannot even read
        (a timestamp that is not a number, a signature that is not ASCII) or a body that is not
        UTF-8 (the verifier decodes it first) is unsigned too."""
        try:
            return self._verifier.is_valid_request(raw, headers)
        except (ValueError, TypeError):
            return False

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()  # bounded by the application's client_max_size
        answer = await self.answer(raw, dict(request.headers.items()), query=request.query_string)
        return await to_aiohttp_response(answer)

    async def answer(self, raw: bytes, headers: dict[str, str], *, query: str = "") -> BoltResponse:
        """The response to one request: 401, 400, or what Bolt's dispatch answers."""
        if not self._signed(raw, headers):
            logger.info("refused a Slack request without a valid signature")
            return BoltResponse(status=401, body={"error": "invalid request"})
        content_type = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), None
        )
        try:
            body = read_http_body(raw, content_type)
        except UnreadableRequest as exc:
            logger.warning("refused a signed Slack request that cannot be read: %s", exc)
            return BoltResponse(status=400, body=f"Unreadable request: {exc}")
        return await self._bolt.async_dispatch(
            bolt_request(raw.decode("utf-8"), body, query=query, headers=headers)
        )
