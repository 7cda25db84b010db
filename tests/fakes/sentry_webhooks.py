"""Sends webhook deliveries the way Sentry sends them: the body serialised compactly
(`sentry.utils.json.dumps`: separators `,`/`:`, ASCII only, keys in insertion order
`action`, `installation`, `data`, `actor`), signed with HMAC-SHA256 of the client secret over
exactly those bytes, with `Sentry-Hook-Resource`, `Sentry-Hook-Timestamp` (epoch seconds at
send time) and a fresh `Request-ID` (Sentry `sentry_apps/api/serializers/app_platform_event.py`
`AppPlatformEvent.body`/`headers`, `SentryApp.build_signature`). Tests can also send what
Sentry never would: a forged or missing signature, a stale timestamp, a broken body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

# The installation and actors of Sentry's docs examples (webhooks/issues.mdx).
INSTALLATION = "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"
SENTRY_ACTOR = {"type": "application", "id": "sentry", "name": "Sentry"}
USER_ACTOR = {"type": "user", "id": 1, "name": "Jane Doe"}


def compact(payload: Mapping[str, Any]) -> bytes:
    """The bytes Sentry sends for a payload."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    seconds: float


class WebhookSender:
    """Posts deliveries to the bot's `/sentry/webhook` (synchronously, from a test thread)."""

    def __init__(self, url: str, secret: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.secret = secret
        self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def body(self, action: str, data: Mapping[str, Any], actor: Mapping[str, Any]) -> bytes:
        return compact(
            {"action": action, "installation": {"uuid": INSTALLATION}, "data": data, "actor": actor}
        )

    def headers(
        self,
        resource: str | None,
        body: bytes,
        *,
        timestamp: int | str | None = None,
        signature: str | None = None,
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Request-ID": uuid.uuid4().hex,
            "Sentry-Hook-Timestamp": str(int(time.time()) if timestamp is None else timestamp),
            "Sentry-Hook-Signature": sign(self.secret, body) if signature is None else signature,
        }
        if resource is not None:
            headers["Sentry-Hook-Resource"] = resource
        return headers

    def send(
        self,
        resource: str,
        action: str,
        data: Mapping[str, Any],
        *,
        actor: Mapping[str, Any] = SENTRY_ACTOR,
        timestamp: int | None = None,
    ) -> Answer:
        body = self.body(action, data, actor)
        return self.post(body, self.headers(resource, body, timestamp=timestamp))

    def post(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        started = time.monotonic()
        response = self._client.post(self.url, content=body, headers=dict(headers))
        return Answer(response.status_code, response.text, time.monotonic() - started)
