"""`POST /sentry/webhook` over HTTP, for any request: the answer follows from the signature, the
timestamp and the body alone, and a delivery is queued exactly when it is Sentry's, fresh and
one the bot acts on."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.metrics import Metrics
from bot.secret import Secret
from bot.store.database import create_engine
from bot.store.migrations import migrate
from bot.web import build_web_app
from bot.webhooks.endpoint import SentryWebhookEndpoint
from bot.webhooks.queue import WebhookQueue
from tests.fakes.sentry_webhooks import compact, sign

SECRET = "endpoint-client-secret"


async def healthy() -> tuple[bool, dict[str, Any]]:
    return True, {}


def hook(action: str, issue_id: int) -> bytes:
    return compact(
        {
            "action": action,
            "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
            "data": {"issue": {"id": str(issue_id), "title": "x"}},
            "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
        }
    )


def junk() -> st.SearchStrategy[bytes]:
    def unreadable(body: bytes) -> bool:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return True
        return not isinstance(data, dict) or not isinstance(data.get("data"), dict)

    return st.binary(max_size=300).filter(unreadable)


bodies = st.one_of(
    st.tuples(
        st.just("hook"),
        st.sampled_from(["created", "resolved", "regressed?"]),
        st.integers(1, 10**12),
    ),
    st.tuples(st.just("junk"), junk(), st.just(0)),
)


@settings(max_examples=60)
@given(
    body=bodies,
    signed=st.sampled_from(["valid", "missing", "other secret", "garbage"]),
    stamp=st.sampled_from(["fresh", "missing", "stale", "future", "garbage"]),
    resource=st.sampled_from(["issue", "installation", None]),
)
def test_any_request_gets_the_answer_its_parts_call_for(
    body: tuple[str, Any, int], signed: str, stamp: str, resource: str | None
) -> None:
    kind, action_or_bytes, issue_id = body
    raw = hook(action_or_bytes, issue_id) if kind == "hook" else action_or_bytes
    now = int(time.time())
    headers = {"Content-Type": "application/json"}
    signature = {
        "valid": sign(SECRET, raw),
        "other secret": sign("guessed", raw),
        "garbage": "zz" * 32,
        "missing": None,
    }[signed]
    timestamp = {
        "fresh": str(now),
        "stale": str(now - 400),
        "future": str(now + 400),
        "garbage": "soon",
        "missing": None,
    }[stamp]
    for name, value in (
        ("Sentry-Hook-Signature", signature),
        ("Sentry-Hook-Timestamp", timestamp),
        ("Sentry-Hook-Resource", resource),
    ):
        if value is not None:
            headers[name] = value

    status, queued = asyncio.run(_post(raw, headers))

    if signed != "valid" or stamp != "fresh":
        expected = 401
    elif resource is None or kind == "junk":
        expected = 400
    else:
        expected = 200
    assert status == expected
    acted = expected == 200 and resource == "issue" and action_or_bytes != "regressed?"
    assert queued == (1 if acted else 0)


async def _post(body: bytes, headers: dict[str, str]) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bot.sqlite3")
        await migrate(engine)
        queue = WebhookQueue(engine)
        endpoint = SentryWebhookEndpoint(
            secret=Secret(SECRET),
            queue=queue,
            metrics=Metrics(),
            clock=lambda: datetime.now(UTC),
            wake=lambda: None,
        )
        app = build_web_app(health=healthy, metrics=Metrics(), slack=None, sentry_webhook=endpoint)
        async with TestClient(TestServer(app)) as client:
            answer = await client.post("/sentry/webhook", data=body, headers=headers)
            status = answer.status
        queued = await queue.pending()
        await engine.dispose()
    return status, queued
