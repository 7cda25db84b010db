"""The fake Sentry's webhooks are Sentry's: the same bytes and signature as Sentry's example,
the documented body per action; and its search narrows to issue ids as Sentry's does."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakes.sentry_server import FakeSentry
from tests.fakes.sentry_webhooks import WebhookSender, compact, sign

TOKEN = "sntryu_contract0123456789"
CONTRACT = Path(__file__).parents[1] / "contract" / "sentry"


def example(name: str) -> Any:
    return json.loads((CONTRACT / name).read_text())


def test_the_sender_writes_and_signs_sentrys_example_byte_for_byte() -> None:
    # Source: `webhook-signature-example.json` (compact body and its signature).
    signed = example("webhook-signature-example.json")
    parsed = json.loads(signed["raw_body"])
    body = WebhookSender("http://127.0.0.1:9/", signed["client_secret"]).body(
        parsed["action"], parsed["data"], parsed["actor"]
    )
    assert body == signed["raw_body"].encode()
    assert sign(signed["client_secret"], body) == signed["headers"]["Sentry-Hook-Signature"]


def test_the_documented_created_body_round_trips_through_the_compact_form() -> None:
    # Source: Sentry docs webhooks/issues.mdx (`webhook-issue-created.json`).
    documented = example("webhook-issue-created.json")
    assert json.loads(compact(documented)) == documented
    assert b" " not in compact({"a": [1, {"b": None}]})


class Receiver:
    """Records what is posted to a loopback HTTP server."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield rec, f"http://127.0.0.1:{port}/hook"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_a_new_issue_sends_issue_created_as_sentry_does(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    with FakeSentry(org="acme", token=TOKEN) as sentry:
        sentry.deliver_webhooks(url, "client-secret", on_create=True)
        issue = sentry.create_issue("web", "ValueError: boom")
        sentry.set_issue_status(issue["id"], "resolved")
        sentry.send_issue_webhook("resolved", issue["id"])
        sentry.send_comment_webhook(issue["id"], "on it")
    (h1, created), (h2, resolved), (h3, comment) = rec.requests
    assert h2["Sentry-Hook-Signature"] == sign("client-secret", resolved)
    assert h1["Sentry-Hook-Resource"] == "issue"
    assert h1["Sentry-Hook-Signature"] == sign("client-secret", created)
    assert int(h1["Sentry-Hook-Timestamp"]) > 1_700_000_000
    body = json.loads(created)
    assert list(body) == ["action", "installation", "data", "actor"]
    assert body["action"] == "created"
    assert body["actor"] == {"type": "application", "id": "sentry", "name": "Sentry"}
    # Only `created` carries the url keys (Sentry `_process_resource_change`).
    assert {"url", "web_url", "project_url"} <= set(body["data"]["issue"])
    later = json.loads(resolved)
    assert later["data"]["resolution_type"] == "now"
    assert later["data"]["issue"]["status"] == "resolved"
    assert "url" not in later["data"]["issue"]
    assert h3["Sentry-Hook-Resource"] == "comment"
    note = json.loads(comment)["data"]
    assert note["issue_id"] == int(issue["id"])
    assert note["comment"] == "on it"


def test_issue_id_narrows_a_search_to_those_issues() -> None:
    with FakeSentry(org="acme", token=TOKEN) as sentry:
        first = sentry.create_issue("web", "First")
        sentry.create_issue("web", "Second")
        third = sentry.create_issue("web", "Third", level="warning")
        query = f"is:unresolved level:error issue.id:[{first['id']},{third['id']}]"
        answer = httpx.get(
            f"{sentry.url}/api/0/organizations/acme/issues/",
            params={"query": query},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.status_code == 200
    assert [i["id"] for i in answer.json()] == [first["id"]]
