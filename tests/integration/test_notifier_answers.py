"""Whatever Slack answers to the methods the notifier reads (chat.postMessage, chat.update,
conversations.history, conversations.replies, conversations.join), only typed outcomes come
out: the answers are served over real HTTP to slack_sdk, as a misbehaving Slack would."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.slack.notifier import BotMessage, Posted, Refused, SlackNotifier, Uncertain, Unreadable
from tests.unit.test_slack_answers import CHANNEL, TS, answers


class Answer:
    """What the server says next: status, body bytes, content type, extra headers."""

    status = 200
    body = b"{}"
    content_type = "application/json"
    headers: dict[str, str] = {}


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(Answer.status)
        self.send_header("Content-Type", Answer.content_type)
        self.send_header("Content-Length", str(len(Answer.body)))
        for name, value in Answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(Answer.body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


async def _every_method(url: str) -> list[object]:
    client = AsyncWebClient(token="xoxb-test", base_url=url, retry_handlers=[])
    notifier = SlackNotifier(client=client, post_client=client, metrics=Metrics())
    since = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        await notifier.post(CHANNEL, {"text": "t"}),
        await notifier.update(CHANNEL, TS, {"text": "t"}),
        await notifier.read_back(CHANNEL, since=since),
        await notifier.read_back(CHANNEL, since=since, thread_ts=TS),
    ]


def _check(results: list[object]) -> None:
    post, update, history, thread = results
    assert isinstance(post, Posted | Refused | Uncertain)
    assert isinstance(update, Posted | Refused | Uncertain)
    if isinstance(post, Posted):
        assert post.ts == TS
    for found in (history, thread):
        assert isinstance(found, Unreadable) or all(isinstance(m, BotMessage) for m in found)


bodies = answers.map(lambda v: json.dumps(v).encode()) | st.sampled_from(
    [b"", b"<html>502</html>", b"{", b'{"ok": true, "ts": "' + b"9" * 5000 + b'"}', b"\xff\xfe"]
)


@given(
    status=st.sampled_from([200, 200, 200, 400, 404, 429, 500, 503]),
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "text/html"]),
    retry_after=st.none() | st.sampled_from(["1", "3600", "-5", "abc", "1e309", "9" * 40]),
)
def test_only_typed_outcomes_escape(
    server_url: str, status: int, body: bytes, content_type: str, retry_after: str | None
) -> None:
    Answer.status, Answer.body, Answer.content_type = status, body, content_type
    Answer.headers = {} if retry_after is None else {"Retry-After": retry_after}
    # A page whose next cursor never ends is cut at MAX_PAGES; posts that say rate-limited
    # park the channel only inside this example's notifier.
    _check(asyncio.run(_every_method(server_url)))


def test_ok_without_ts_is_uncertain_never_posted(server_url: str) -> None:
    Answer.status, Answer.content_type, Answer.headers = 200, "application/json", {}
    Answer.body = json.dumps({"ok": True, "channel": CHANNEL}).encode()
    post = asyncio.run(_every_method(server_url))[0]
    assert isinstance(post, Uncertain)
    assert "without a message timestamp" in post.reason
