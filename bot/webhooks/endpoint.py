"""`POST /sentry/webhook`: check a delivery, queue it and answer, all well within Sentry's one
second.

Sentry waits one second for an answer and stops sending to an integration that times out too
often (docs "Integration Platform: Webhooks"). So the answer never waits on Sentry or Slack:
a verified, readable delivery is written to the durable queue (`queue.py`) and the worker is
woken. Answers: 401 unsigned, badly signed or stale (nothing done); 400 signed but unreadable;
413 over `MAX_BODY_BYTES`; 200 queued or ignored; 503 when the queue is full or the database
does not take the delivery within `ACK_BUDGET_SECONDS`. Sentry retries a 503 (Sentry
`send_and_save_webhook_request` raises `ApiHostError` for it, which `retry_decorator` in
`sentry_apps/tasks/sentry_apps.py` retries up to three times, five minutes apart), while a
4xx is never retried; and polling catches up either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from aiohttp import web

from bot.metrics import Metrics
from bot.secret import Secret
from bot.webhooks.hooks import RESOURCE_HEADER, Ignored, Malformed, read_hook
from bot.webhooks.queue import WebhookQueue
from bot.webhooks.verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, Refused, verify

logger = logging.getLogger(__name__)

PATH: Final = "/sentry/webhook"
# An issue delivery is a few kilobytes (one serialised issue); this leaves room for long
# titles and metadata while bounding what an unauthenticated sender can make the bot read.
MAX_BODY_BYTES: Final = 256 * 1024
ACK_BUDGET_SECONDS: Final = 0.8
# Refusals are logged at most this often: a stream of forged requests is counted, not logged.
REFUSAL_LOG_SECONDS: Final = 60.0


class SentryWebhookEndpoint:
    def __init__(
        self,
        *,
        secret: Secret,
        queue: WebhookQueue,
        metrics: Metrics,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        ack_budget: float = ACK_BUDGET_SECONDS,
    ) -> None:
        self._secret = secret
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._wake = wake
        self._ack_budget = ack_budget
        self._refusal_logged = -REFUSAL_LOG_SECONDS
        self.last_received: datetime | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self._metrics.webhooks_received.inc()
        body = await _read_bounded(request)
        if body is None:
            return self._refuse("too_large", 413, f"body over {MAX_BODY_BYTES} bytes")
        try:
            verify(
                secret=self._secret.reveal().encode("utf-8"),
                body=body,
                signature_header=request.headers.get(SIGNATURE_HEADER),
                timestamp_header=request.headers.get(TIMESTAMP_HEADER),
                now=time.time(),
            )
        except Refused as exc:
            return self._refuse(exc.reason, 401, str(exc))
        now = self._clock()
        self.last_received = now
        resource = request.headers.get(RESOURCE_HEADER)
        try:
            hint = read_hook(resource, body)
        except Malformed as exc:
            return self._refuse("malformed", 400, str(exc))
        if isinstance(hint, Ignored):
            logger.debug("Sentry webhook %s.%s: nothing to do", hint.resource, hint.action)
            return web.json_response({"ok": True, "ignored": f"{hint.resource}.{hint.action}"})
        put = asyncio.ensure_future(self._queue.put(hint, now=now))
        put.add_done_callback(_consume)
        try:
            accepted = await asyncio.wait_for(asyncio.shield(put), self._ack_budget)
        except TimeoutError:
            return self._refuse("busy", 503, "the queue did not answer in time; retry later")
        except Exception:
            logger.exception("could not queue a Sentry webhook delivery")
            return self._refuse("busy", 503, "the queue cannot be written; retry later")
        if not accepted:
            return self._refuse("full", 503, "the queue is full; retry later")
        self._metrics.webhooks_queued.labels(hint.resource).inc()
        self._wake()
        return web.json_response({"ok": True, "queued": f"{hint.resource}.{hint.action}"})

    def _refuse(self, reason: str, status: int, message: str) -> web.Response:
        self._metrics.webhooks_refused.labels(reason).inc()
        now = time.monotonic()
        if now - self._refusal_logged >= REFUSAL_LOG_SECONDS:
            self._refusal_logged = now
            logger.warning("refused a Sentry webhook delivery (%d): %s", status, message)
        return web.json_response({"ok": False, "error": message}, status=status)


async def _read_bounded(request: web.Request) -> bytes | None:
    """The raw body, or None when it is larger than MAX_BODY_BYTES (read no further)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _consume(future: asyncio.Future[bool]) -> None:
    """A write that finished after its answer was given: its error is logged, not lost."""
    if not future.cancelled() and future.exception() is not None:
        logger.warning("a late webhook queue write failed: %s", future.exception())
