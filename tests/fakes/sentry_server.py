"""A fake Sentry on 127.0.0.1 speaking Sentry's wire format, with fault switches for tests.

It is a real aiohttp server in a background thread (its own event loop), so any client in the
test process or a subprocess reaches it by URL like a real deployment. Routes, bodies, auth,
scopes, pagination (`Link`, `X-Hits`) and errors follow Sentry's API docs (docs.sentry.io/api/)
and, where the docs are silent, Sentry's source (cited beside each rule); issue updates are
validated against the lenient OpenAPI subset in `tests/contract/sentry/`.

    with FakeSentry(org="acme") as sentry:
        issue = sentry.create_issue("web", "TypeError: x is undefined")
        sentry.fail_next(2, status=429, reset_in=3)
        ... client calls sentry.url ...
        assert sentry.count("PUT", "/issues/") == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlencode

import jsonschema
from aiohttp import web

from tests.fakes import sentry_params
from tests.fakes.sentry_search import QueryError, parse_query
from tests.fakes.sentry_state import (
    JSON,
    ApiError,
    IssueRecord,
    SentryOrgState,
    simple_event,
)
from tests.fakes.sentry_webhooks import SENTRY_ACTOR, USER_ACTOR, Answer, WebhookSender

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract" / "sentry"
SCHEMA_FILE = CONTRACT_DIR / "sentry-openapi-subset.lenient.json"

# The server's own default when `query` is absent, not the schema's (`DEFAULT_QUERY` in
# Sentry `src/sentry/api/helpers/group_index/index.py`).
DEFAULT_ISSUE_QUERY = "is:unresolved issue.priority:[high, medium]"
RATE_LIMIT_BODY = (
    "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"
)
NOT_FOUND = {"detail": "The requested resource does not exist"}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}

# What an internal integration for this bot would be granted (docs.sentry.io/api/permissions/).
DEFAULT_SCOPES = frozenset(
    {
        "org:read",
        "project:read",
        "project:releases",
        "event:read",
        "event:write",
        "event:admin",
        "member:read",
        "team:read",
    }
)

_EVENT_READ = ("event:read", "event:write", "event:admin")
_EVENT_WRITE = ("event:write", "event:admin")
_EVENT_ADMIN = ("event:admin",)
_ORG_READ = ("org:read", "org:write", "org:admin")
_PROJECT_READ = ("project:read", "project:write", "project:admin")
_RELEASE_READ = ("org:ci", "project:admin", "project:read", "project:releases", "project:write")
_RELEASE_WRITE = ("org:ci", "project:admin", "project:releases", "project:write")
_MEMBER_READ = ("member:read", "member:write", "member:admin")

_ORG = r"/api/0/organizations/(?P<org>[^/]+)"
_PROJ = r"/api/0/projects/(?P<org>[^/]+)/(?P<project>[^/]+)"
_ISSUE = _ORG + r"/(?:issues|groups)/(?P<issue>[^/]+)"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    scopes: tuple[str, ...]
    handler: str


def _route(method: str, pattern: str, scopes: tuple[str, ...], handler: str) -> Route:
    return Route(method, re.compile(f"^{pattern}/$"), scopes, handler)


ROUTES = (
    _route("GET", _ORG, _ORG_READ, "get_org"),
    _route("GET", _ORG + "/projects", _ORG_READ, "list_projects"),
    _route("GET", _PROJ, _PROJECT_READ, "get_project"),
    _route("GET", _ORG + "/issues", _EVENT_READ, "list_org_issues"),
    _route("PUT", _ORG + "/issues", _EVENT_WRITE, "bulk_update"),
    _route("DELETE", _ORG + "/issues", _EVENT_ADMIN, "bulk_delete"),
    _route("GET", _PROJ + "/issues", _EVENT_READ, "list_project_issues"),
    _route("PUT", _PROJ + "/issues", _EVENT_WRITE, "bulk_update"),
    _route("GET", _ISSUE, _EVENT_READ, "get_issue"),
    _route("PUT", _ISSUE, _EVENT_WRITE, "update_issue"),
    _route("DELETE", _ISSUE, _EVENT_ADMIN, "delete_issue"),
    _route("GET", _ISSUE + "/events", _EVENT_READ, "list_issue_events"),
    # `(?:notes|comments)/` under the issue routes (Sentry `api/urls.py`, `GroupNotesEndpoint`).
    _route("GET", _ISSUE + "/(?:comments|notes)", _EVENT_READ, "list_comments"),
    _route("POST", _ISSUE + "/(?:comments|notes)", _EVENT_WRITE, "post_comment"),
    _route("GET", _ISSUE + "/events/(?P<event>[^/]+)", _EVENT_READ, "get_issue_event"),
    _route("GET", _ORG + "/shortids/(?P<short>[^/]+)", _EVENT_READ, "resolve_short_id"),
    _route("GET", _PROJ + "/events", _PROJECT_READ, "list_project_events"),
    _route("GET", _ORG + "/releases", _RELEASE_READ, "list_releases"),
    _route("POST", _ORG + "/releases", _RELEASE_WRITE, "create_release"),
    _route("GET", _ORG + "/releases/(?P<version>[^/]+)", _RELEASE_READ, "get_release"),
    _route("GET", _ORG + "/members", _MEMBER_READ, "list_members"),
    _route("GET", _ORG + "/members/(?P<member>[^/]+)", _MEMBER_READ, "get_member"),
    _route("GET", _ORG + "/teams", _ORG_READ, "list_teams"),
)


@dataclass
class RecordedRequest:
    """One request as the fake saw it; `Authorization` is left out of `headers`."""

    method: str
    path: str
    query: list[tuple[str, str]]
    json: Any
    headers: dict[str, str]
    status: int | None = None

    def params(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]

    def param(self, name: str) -> str | None:
        values = self.params(name)
        return values[0] if values else None


@dataclass
class Fault:
    kind: str  # "fail" | "drop" | "slow" | "malformed" | "drip" | "gzip_bomb" | "raw"
    remaining: int
    path_contains: str | None
    status: int = 500
    rate_limit_headers: bool = True
    reset_in: float = 1.0
    seconds: float = 0.0
    size: int = 0
    text: str = ""


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@cache
def issue_update_schemas() -> tuple[JSON, JSON]:
    """Request-body schemas of updateOrganizationIssue and updateOrganizationIssues."""
    spec = json.loads(SCHEMA_FILE.read_text())
    found: dict[str, JSON] = {}
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("operationId") in (
                "updateOrganizationIssue",
                "updateOrganizationIssues",
            ):
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                found[operation["operationId"]] = _nullable_to_json_schema(schema)
    return found["updateOrganizationIssue"], found["updateOrganizationIssues"]


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` is `type: [T, "null"]` in JSON Schema."""
    if isinstance(node, dict):
        converted = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and isinstance(node.get("type"), str):
            converted["type"] = [node["type"], "null"]
        return converted
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


class FakeSentry(SentryOrgState):
    """The fake server; state helpers come from `SentryOrgState`."""

    def __init__(
        self,
        *,
        org: str = "acme",
        token: str = "sntryu_fake0123456789abcdef",  # noqa: S107 - a fake credential
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(org=org, clock=clock)
        self.token = token
        self.scopes = set(scopes)
        # Slugs of projects the token cannot see: filtering by their ids answers 403.
        self.hidden_projects: set[str] = set()
        self.known_environments: set[str] = set()
        # False: like a region host that does not serve the API root (404).
        self.serves_api_root = True
        self.latency = 0.0
        self.violations: list[str] = []
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        # Raw issue JSON texts served in every organization issue list (hostile data).
        self._raw_issues: list[str] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0
        # Where webhook deliveries go (`deliver_webhooks`), and whether a new issue sends one.
        self.webhooks: WebhookSender | None = None
        self.webhook_on_create = False
        self.webhook_answers: list[Answer] = []

    # -- webhooks (Sentry `sentry_apps/tasks/sentry_apps.py`, docs webhooks/issues.mdx) --------

    def deliver_webhooks(self, url: str, secret: str, *, on_create: bool = False) -> WebhookSender:
        """Send this organization's webhooks to `url`, signed with `secret` (the integration's
        client secret); with `on_create`, each new issue sends `issue.created` as Sentry does."""
        self.webhooks = WebhookSender(url, secret)
        self.webhook_on_create = on_create
        return self.webhooks

    def create_issue(self, project_slug: str, title: str, **options: Any) -> JSON:
        issue = super().create_issue(project_slug, title, **options)
        if self.webhooks is not None and self.webhook_on_create:
            self.send_issue_webhook("created", issue["id"])
        return issue

    def send_issue_webhook(
        self, action: str, issue_id: int | str, *, actor: JSON | None = None
    ) -> Answer:
        """Deliver `issue.<action>` for an issue as it is now: `created` adds the `url`,
        `web_url` and `project_url` keys, `resolved` a `resolution_type`, `assigned` the
        `assignee` (Sentry `_process_resource_change`, `send_workflow_webhooks`)."""
        assert self.webhooks is not None, "call deliver_webhooks first"
        issue = self.issue(issue_id)
        data: JSON = {"issue": issue}
        if action == "created":
            base = f"{self.url}/api/0/organizations/{self.org}"
            issue["url"] = f"{base}/issues/{issue['id']}/"
            issue["web_url"] = f"{self.web_url}/organizations/{self.org}/issues/{issue['id']}/"
            issue["project_url"] = (
                f"{self.web_url}/organizations/{self.org}/issues/?project={issue['project']['id']}"
            )
        elif action == "resolved":
            data = {"resolution_type": "now", "issue": issue}
        elif action == "assigned":
            assignee = issue.get("assignedTo") or {}
            data = {
                "assignee": {
                    "type": assignee.get("type", "user"),
                    "name": assignee.get("name", ""),
                    "id": int(assignee.get("id", 0) or 0),
                },
                "issue": issue,
            }
        answer = self.webhooks.send(
            "issue", action, data, actor=actor if actor is not None else SENTRY_ACTOR
        )
        self.webhook_answers.append(answer)
        return answer

    def send_comment_webhook(
        self, issue_id: int | str, text: str, *, comment_id: int = 1
    ) -> Answer:
        """Deliver `comment.created` (docs webhooks/comments.mdx)."""
        assert self.webhooks is not None, "call deliver_webhooks first"
        issue = self.issue(issue_id)
        data = {
            "comment": text,
            "project_slug": issue["project"]["slug"],
            "comment_id": comment_id,
            "issue_id": int(issue["id"]),
            "timestamp": issue["lastSeen"],
        }
        answer = self.webhooks.send("comment", "created", data, actor=USER_ACTOR)
        self.webhook_answers.append(answer)
        return answer

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeSentry:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.web_url = self.url
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready), name="fake-sentry", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Sentry did not start")
        return self

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stopping = self._stopping
        if stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeSentry:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        self._stopping = asyncio.Event()
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    # -- fault switches ----------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        *,
        status: int = 500,
        path_contains: str | None = None,
        rate_limit_headers: bool = True,
        reset_in: float = 1.0,
    ) -> None:
        """The next `count` matching requests fail with `status` (429: Sentry's string body)."""
        self._add_fault(
            Fault(
                "fail",
                count,
                path_contains,
                status=status,
                rate_limit_headers=rate_limit_headers,
                reset_in=reset_in,
            )
        )

    def drop_next(self, count: int, *, path_contains: str | None = None) -> None:
        """Close the connection of the next `count` matching requests without answering."""
        self._add_fault(Fault("drop", count, path_contains))

    def slow_next(self, count: int, seconds: float, *, path_contains: str | None = None) -> None:
        """Delay the answer of the next `count` matching requests by `seconds`."""
        self._add_fault(Fault("slow", count, path_contains, seconds=seconds))

    def malformed_next(self, count: int, *, path_contains: str | None = None) -> None:
        """Answer the next `count` matching requests 200 with a body that is not JSON."""
        self._add_fault(Fault("malformed", count, path_contains))

    # -- hostile data (see tests/fakes/sentry_hostile.py for the texts) -----------------------

    def serve_raw_issue(self, text: str) -> None:
        """Serve `text` (one issue object as raw JSON, possibly hostile: far-future dates,
        surrogates, 10,000-deep metadata, 5,000-digit ints) first in every organization
        issue list answer, whatever the query; a real Sentry would hold such an issue."""
        with self._cond:
            self._raw_issues.append(text)
            self._changed()

    def clear_raw_issues(self) -> None:
        with self._cond:
            self._raw_issues.clear()
            self._changed()

    def drip_next(
        self, count: int, *, interval: float = 1.0, path_contains: str | None = None
    ) -> None:
        """Send the answer of the next `count` matching requests one byte every `interval`
        seconds, the first after `interval` (each read succeeds; only the whole is slow)."""
        self._add_fault(Fault("drip", count, path_contains, seconds=interval))

    def gzip_bomb_next(
        self, count: int, *, inflated_bytes: int = 1 << 30, path_contains: str | None = None
    ) -> None:
        """Answer the next `count` matching requests 200 with a gzip body that inflates to
        `inflated_bytes` of valid JSON (an empty list padded with spaces). The body is made
        now: compressing a gigabyte takes seconds, and made while the request waits it would
        reach the client as a slow answer instead of a large one."""
        gzip_bomb(inflated_bytes)
        self._add_fault(Fault("gzip_bomb", count, path_contains, size=inflated_bytes))

    def raw_error_next(
        self, status: int, text: str, *, count: int = 1, path_contains: str | None = None
    ) -> None:
        """Answer the next `count` matching requests `status` with `text` as the JSON body."""
        self._add_fault(Fault("raw", count, path_contains, status=status, text=text))

    def raw_next(self, count: int, text: str, *, path_contains: str | None = None) -> None:
        """Answer the next `count` matching requests 200 with `text` as the JSON body (any
        object shape, however hostile), with a `Link` header that ends the list."""
        self._add_fault(Fault("raw", count, path_contains, status=200, text=text))

    def _add_fault(self, fault: Fault) -> None:
        with self._cond:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.remaining > 0 and (
                    fault.path_contains is None or fault.path_contains in path
                ):
                    fault.remaining -= 1
                    return fault
            return None

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def requests_matching(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[RecordedRequest]:
        with self._cond:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method)
                and (path_contains is None or path_contains in r.path)
            ]

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return len(self.requests_matching(method, path_contains))

    def clear_faults(self) -> None:
        """Forget every fault still waiting to be served."""
        with self._cond:
            self._faults.clear()

    def clear_requests(self) -> None:
        with self._cond:
            self._requests.clear()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until `predicate()` holds; re-checked on every request and state change."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"fake Sentry: condition not met within {timeout} s")

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """`wait_for` for async tests, without blocking their event loop."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=request.method,
            path=request.rel_url.raw_path,
            query=list(request.rel_url.query.items()),
            json=body,
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
        )
        with self._cond:
            self._requests.append(record)
            self._changed()
        if self.latency:
            await self._pause(self.latency)
        fault = self._take_fault(record.path)
        if fault is not None and fault.kind == "drop":
            with self._cond:
                record.status = 0  # no answer at all
                self._changed()
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if fault is not None and fault.kind == "slow":
            await self._pause(fault.seconds)
        if fault is not None and fault.kind == "raw":
            with self._cond:
                record.status = fault.status
                self._changed()
            return web.Response(
                status=fault.status, text=fault.text, content_type="application/json"
            )
        if fault is not None and fault.kind in ("drip", "gzip_bomb"):
            return await self._hostile_answer(request, record, fault)
        if fault is not None and fault.kind == "malformed":
            reply = Reply(200, None)
            response = web.Response(
                status=200, text='[{"id": "1", "title": ', content_type="application/json"
            )
        elif fault is not None and fault.kind == "fail":
            reply = self._failure(fault)
            response = self._respond(reply, record)
        else:
            reply = self._dispatch(request, record, raw_body)
            response = self._respond(reply, record)
            raw_items = self._raw_issue_texts(record, reply)
            if raw_items:
                response.text = _splice_items(json.dumps(reply.body), raw_items)
        with self._cond:
            record.status = reply.status
            self._changed()
        return response

    def _raw_issue_texts(self, record: RecordedRequest, reply: Reply) -> list[str]:
        is_issue_list = record.method == "GET" and re.fullmatch(_ORG + "/issues/", record.path)
        if not is_issue_list or reply.status != 200 or not isinstance(reply.body, list):
            return []
        with self._cond:
            return list(self._raw_issues)

    async def _hostile_answer(
        self, request: web.Request, record: RecordedRequest, fault: Fault
    ) -> web.StreamResponse:
        """A drip (the real answer, a byte at a time) or a gzip bomb."""
        if fault.kind == "gzip_bomb":
            body = gzip_bomb(fault.size)
            with self._cond:
                record.status = 200
                self._changed()
            return web.Response(
                status=200,
                body=body,
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        reply = self._dispatch(request, record, b"")
        payload = json.dumps(reply.body).encode()
        with self._cond:
            record.status = reply.status
            self._changed()
        stream = web.StreamResponse(
            status=reply.status,
            headers={**reply.headers, "Content-Type": "application/json"},
        )
        stream.content_length = len(payload)
        await stream.prepare(request)
        assert self._stopping is not None
        for index in range(len(payload)):
            await self._pause(fault.seconds)
            if self._stopping.is_set() or request.transport is None:
                break
            try:
                await stream.write(payload[index : index + 1])
            except (ConnectionError, RuntimeError):
                break
        return stream

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _failure(self, fault: Fault) -> Reply:
        if fault.status != 429:
            return Reply(fault.status, {"detail": "Internal Error", "errorId": "f" * 32})
        headers: dict[str, str] = {}
        if fault.rate_limit_headers:
            headers = {
                "X-Sentry-Rate-Limit-Limit": "5",
                "X-Sentry-Rate-Limit-Remaining": "0",
                "X-Sentry-Rate-Limit-Reset": str(int(self.clock() + fault.reset_in)),
                "X-Sentry-Rate-Limit-ConcurrentLimit": "25",
                "X-Sentry-Rate-Limit-ConcurrentRemaining": "24",
            }
        return Reply(429, RATE_LIMIT_BODY, headers)

    def _respond(self, reply: Reply, record: RecordedRequest) -> web.Response:
        if reply.status in (202, 204) and reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        text = json.dumps(reply.body)
        # Django's HttpResponse default content type for the rate limiter's 429 (Sentry
        # `src/sentry/middleware/ratelimit.py`).
        content_type = "text/html" if reply.status == 429 else "application/json"
        return web.Response(
            status=reply.status,
            text=text,
            content_type=content_type,
            headers=reply.headers,
        )

    def _dispatch(self, request: web.Request, record: RecordedRequest, raw_body: bytes) -> Reply:
        denied = self._authenticate(request.headers.get("Authorization"))
        if denied is not None:
            return denied
        if record.path == "/api/0/" and self.serves_api_root and record.method == "GET":
            # The API root lists the token's scopes (Sentry `api/endpoints/index.py`).
            with self._cond:
                scopes = sorted(self.scopes)
            return Reply(200, {"version": "0", "auth": {"scopes": scopes}, "user": None})
        path_matched = False
        for route in ROUTES:
            match = route.pattern.match(record.path)
            if match is None:
                continue
            path_matched = True
            if route.method != record.method:
                continue
            groups = {k: unquote(v) for k, v in match.groupdict().items()}
            with self._cond:
                if groups["org"] != self.org:
                    return Reply(404, NOT_FOUND)
                if not self.scopes.intersection(route.scopes):
                    return Reply(403, FORBIDDEN)
                if raw_body and record.json is None:
                    return Reply(400, {"detail": "JSON parse error - Expecting value"})
                handler: Callable[[RecordedRequest, dict[str, str]], Reply] = getattr(
                    self, "_op_" + route.handler
                )
                try:
                    return handler(record, groups)
                except ApiError as error:
                    return Reply(error.status, error.body)
                except QueryError as error:
                    return Reply(400, {"detail": f"Error parsing search query: {error}"})
        if path_matched:
            return Reply(405, {"detail": f'Method "{record.method}" not allowed.'})
        return Reply(404, NOT_FOUND)

    def _authenticate(self, header: str | None) -> Reply | None:
        """DRF's authenticators (`src/sentry/api/authentication.py`): a scheme no authenticator
        knows is no credentials at all; `Bearer` without a token is a malformed header."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return Reply(401, {"detail": "Authentication credentials were not provided."})
        if not credentials.strip():
            return Reply(401, {"detail": "Invalid token header. No credentials provided."})
        if credentials.strip() != self.token:
            return Reply(401, {"detail": "Invalid token"})
        return None

    def add_environment(self, name: str) -> None:
        """An environment the organization knows without any issue in it yet."""
        with self._cond:
            self.known_environments.add(name)

    def _check_environments(self, record: RecordedRequest) -> None:
        """An `environment=` no event of the organization ever named is a 404: Sentry looks the
        names up and answers `ResourceDoesNotExist` unless all exist
        (`src/sentry/api/helpers/environments.py` `get_environments`)."""
        wanted = set(record.params("environment"))
        known = self.known_environments | {
            name for issue in self._issues.values() for name in issue.environments
        }
        if not wanted <= known:
            raise ApiError(404, NOT_FOUND)

    def _project_filter(self, record: RecordedRequest) -> set[int] | None:
        """The ids of `project=` (organization-level endpoints); None for every project."""
        hidden = {p.id for p in self.projects() if p.slug in self.hidden_projects}
        return sentry_params.requested_project_ids(
            record.params("project"), visible=[p.id for p in self.projects()], hidden=hidden
        )

    # -- pagination (docs.sentry.io/api/pagination/, Sentry `src/sentry/api/base.py`) ---------

    def _paginate(
        self, record: RecordedRequest, items: list[Any], *, per_page: int, value: str = "0"
    ) -> tuple[list[Any], dict[str, str]]:
        offset = sentry_params.cursor_offset(record.param("cursor"))
        page = items[offset : offset + per_page]
        others = [(k, v) for k, v in record.query if k != "cursor"]
        base = f"{self.url}{quote(record.path)}?" + urlencode(others)
        prev_cursor = f"{value}:{max(offset - per_page, 0)}:1"
        next_cursor = f"{value}:{offset + per_page}:0"
        link = ", ".join(
            [
                f'<{base}&cursor={prev_cursor}>; rel="previous"; '
                f'results="{_flag(offset > 0)}"; cursor="{prev_cursor}"',
                f'<{base}&cursor={next_cursor}>; rel="next"; '
                f'results="{_flag(offset + per_page < len(items))}"; cursor="{next_cursor}"',
            ]
        )
        return page, {"Link": link}

    def _per_page(self, record: RecordedRequest) -> int:
        raw = record.param("per_page")
        if raw is None:
            return 100
        if not raw.isdigit():
            raise ApiError(400, {"detail": "Invalid per_page parameter."})
        if int(raw) > 100:
            raise ApiError(400, {"detail": "Invalid per_page value. Cannot exceed 100."})
        return max(int(raw), 1)

    def _list(self, record: RecordedRequest, items: list[Any]) -> Reply:
        page, headers = self._paginate(record, items, per_page=self._per_page(record))
        return Reply(200, page, headers)

    # -- organization, projects ---------------------------------------------------------------

    def _op_get_org(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        # `OrganizationSerializer` adds `links` (organizationUrl, regionUrl).
        links = {"organizationUrl": self.web_url, "regionUrl": self.web_url}
        return Reply(200, {"id": "1", "slug": self.org, "name": self.org.title(), "links": links})

    def _op_list_projects(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        text = (record.param("query") or "").lower()
        projects = [
            self.project_json(p)
            for p in sorted(self.projects(), key=lambda p: p.slug)
            if text in p.slug.lower() or text in p.name.lower()
        ]
        return self._list(record, projects)

    def _op_get_project(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        body = self.project_json(self.project(groups["project"]))
        body["organization"] = {"id": "1", "slug": self.org, "name": self.org.title()}
        return Reply(200, body)

    # -- issue lists (Sentry `src/sentry/issues/endpoints/organization_group_index.py`) ------

    def _op_list_org_issues(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        # Order of checks as in `OrganizationGroupIndexEndpoint.get`.
        sentry_params.date_range(
            record.param("statsPeriod"), record.param("start"), record.param("end")
        )
        sentry_params.group_stats_period(record.param("groupStatsPeriod"))
        self._check_environments(record)
        project_ids = self._project_filter(record)
        query = record.param("query")
        if query and query.strip() and record.param("shortIdLookup") == "1":
            direct = self._short_id_hit(query.strip())
            if direct is not None:
                return Reply(200, [self.stream_issue_json(direct)], {"X-Sentry-Direct-Hit": "1"})
        group_ids = record.params("group")
        if group_ids:
            if not all(re.fullmatch(r"[+-]?\d+", g.strip()) for g in group_ids):
                raise ApiError(400, {"detail": "Group ids must be integers"})
            wanted = {int(g) for g in group_ids}
            found = [i for i in self.live_issues() if i.id in wanted]
            found = [i for i in found if self._in_projects(i, project_ids)]
            collapse = set(record.params("collapse"))
            return Reply(200, [self.stream_issue_json(i, collapse) for i in found])
        return self._search(record, project=None, project_ids=project_ids)

    def _op_list_project_issues(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        project = self.project(groups["project"])
        sentry_params.group_stats_period(record.param("statsPeriod"), project_list=True)
        query = record.param("query")
        if query and query.strip() and record.param("shortIdLookup") == "1":
            direct = self._short_id_hit(query.strip())
            if direct is not None:
                return Reply(200, [self.stream_issue_json(direct)], {"X-Sentry-Direct-Hit": "1"})
        return self._search(record, project=project.slug, project_ids=None, dated=False)

    def _search(
        self,
        record: RecordedRequest,
        *,
        project: str | None,
        project_ids: set[int] | None,
        dated: bool = True,
    ) -> Reply:
        query = record.param("query")
        if query is None:
            query = DEFAULT_ISSUE_QUERY
        limit = sentry_params.issue_limit(record.param("limit"))
        sentry_params.cursor_offset(record.param("cursor"))
        sort = sentry_params.sort_key(record.param("sort"), query)
        sort_keys: dict[str, Callable[[IssueRecord], Any]] = {
            "date": lambda i: i.last_seen,
            "new": lambda i: i.first_seen,
            "freq": lambda i: i.count,
            "user": lambda i: i.user_count,
            "trends": lambda i: i.last_seen,
            "inbox": lambda i: i.first_seen,
            "recommended": lambda i: i.last_seen,
        }
        terms = parse_query(query)
        period = record.param("statsPeriod") if dated else None
        issues = [
            i
            for i in self.live_issues()
            if (project is None or i.project == project)
            and self._in_projects(i, project_ids)
            and self._in_environments(i, record.params("environment"))
            and self._in_period(i, period)
            and all(self.matches(i, term) for term in terms)
        ]
        issues.sort(key=lambda i: (sort_keys[sort](i), i.id), reverse=True)
        page, headers = self._paginate(
            record, issues, per_page=limit, value=str(_sort_value(issues, sort))
        )
        headers.update({"X-Hits": str(len(issues)), "X-Max-Hits": str(len(issues))})
        return Reply(200, [self.stream_issue_json(i) for i in page], headers)

    def _short_id_hit(self, query: str) -> IssueRecord | None:
        if not re.match(r"^(?:issue+:)?(.*?)[\s_-]([A-Za-z0-9]+)$", query):
            return None
        try:
            return self.find_issue(query)
        except ApiError:
            return None

    def _in_projects(self, issue: IssueRecord, wanted: set[int] | None) -> bool:
        return wanted is None or self.project(issue.project).id in wanted

    def _in_environments(self, issue: IssueRecord, wanted: list[str]) -> bool:
        return not wanted or any(e in issue.environments for e in wanted)

    def _in_period(self, issue: IssueRecord, period: str | None) -> bool:
        if not period:
            return True
        return issue.last_seen >= self.now() - sentry_params.stats_period(period)

    # -- issue mutations (Sentry `src/sentry/api/helpers/group_index/update.py`) ----------------

    def _validate_body(self, record: RecordedRequest, schema: JSON, operation: str) -> None:
        if not isinstance(record.json, dict):
            self.violations.append(f"{operation}: body is not a JSON object")
            got = type(record.json).__name__ if record.json is not None else "NoneType"
            message = f"Invalid data. Expected a dictionary, but got {got}."
            raise ApiError(400, {"non_field_errors": [message]})
        if record.json.get("assignedTo", "") is None:
            self.violations.append(f"{operation}: assignedTo null (send '' to unassign)")
            raise ApiError(400, {"assignedTo": ["This field may not be null."]})
        errors = sorted(
            jsonschema.Draft7Validator(schema).iter_errors(record.json), key=lambda e: e.path
        )
        if errors:
            first = errors[0]
            name = str(first.path[0]) if first.path else "non_field_errors"
            self.violations.append(f"{operation}: {name}: {first.message}")
            raise ApiError(400, drf_field_error(first))

    def _op_update_issue(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        self._validate_body(record, issue_update_schemas()[0], "updateOrganizationIssue")
        self.plan_update(issue, record.json)()
        return Reply(200, self.issue_json(issue))

    def _op_bulk_update(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        ids = self._explicit_ids(record, "bulk PUT")
        project_ids = None if "project" in groups else self._project_filter(record)
        self._validate_body(record, issue_update_schemas()[1], "updateOrganizationIssues")
        issues = [
            i for i in self.live_issues() if i.id in ids and self._in_projects(i, project_ids)
        ]
        if "project" in groups:
            issues = [i for i in issues if i.project == self.project(groups["project"]).slug]
        if not issues:
            return Reply(204, {"detail": "No groups found"})
        details = record.json.get("statusDetails") or {}
        release_based = "inRelease" in details or "inNextRelease" in details
        if release_based and len({i.project for i in issues}) > 1:
            raise ApiError(400, {"detail": "Cannot set resolved for multiple projects."})
        plans = [self.plan_update(issue, record.json) for issue in issues]
        delta: JSON = {}
        for plan in plans:
            delta = plan()
        return Reply(200, delta)

    def _op_bulk_delete(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        ids = self._explicit_ids(record, "bulk DELETE")
        project_ids = self._project_filter(record)
        matched = [
            i for i in self.live_issues() if i.id in ids and self._in_projects(i, project_ids)
        ]
        for issue in matched:
            issue.deleted = True
        self._changed()
        return Reply(204)

    def _explicit_ids(self, record: RecordedRequest, operation: str) -> set[int]:
        """The real server mutates every search match without `id=`; the fake refuses."""
        raw = record.params("id")
        if not raw:
            self.violations.append(f"{operation} without id= (would touch every matching issue)")
            raise ApiError(400, {"detail": "The fake Sentry refuses bulk changes without id="})
        if not all(re.fullmatch(r"[+-]?\d+", value.strip()) for value in raw):
            # `int(id)` on each value raises and nothing catches it: a 500
            # (`api/helpers/group_index/update.py`).
            self.violations.append(f"{operation} with non-integer ids {raw!r}")
            raise ApiError(500, sentry_params.INTERNAL_ERROR)
        return {int(value) for value in raw}

    def _op_delete_issue(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        issue.deleted = True
        self._changed()
        return Reply(202)

    # -- single issue reads -------------------------------------------------------------------

    def _op_get_issue(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        return Reply(200, self.detail_issue_json(self.find_issue(groups["issue"])))

    def _op_resolve_short_id(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["short"])
        if issue.short_id.lower() != groups["short"].lower():
            raise ApiError(404, NOT_FOUND)
        return Reply(
            200,
            {
                "organizationSlug": self.org,
                "projectSlug": issue.project,
                "groupId": str(issue.id),
                "shortId": issue.short_id,
                "group": self.issue_json(issue),
            },
        )

    def _op_get_issue_event(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        wanted = groups["event"]
        events = issue.events
        if wanted in ("latest", "recommended"):
            event = events[-1] if events else None
        elif wanted == "oldest":
            event = events[0] if events else None
        else:
            event = next((e for e in events if e["id"] == wanted.replace("-", "")), None)
            if event is None:
                raise ApiError(
                    404,
                    {
                        "detail": "Event not found. The event ID may be incorrect, or its age "
                        "exceeded the retention period."
                    },
                )
        if event is None:
            raise ApiError(
                404,
                {
                    "detail": "No matching event found. Try changing the environments, date "
                    "range, or query."
                },
            )
        return Reply(200, dict(event))

    def _op_list_comments(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        return self._list(record, [self.comment_json(c) for c in issue.comments])

    def _op_post_comment(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        return Reply(201, self.post_comment(issue, record.json))

    def _op_list_issue_events(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        issue = self.find_issue(groups["issue"])
        full = record.param("full") in ("1", "true", "True")
        events = [dict(e) if full else simple_event(e) for e in reversed(issue.events)]
        return self._list(record, events)

    def _op_list_project_events(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        project = self.project(groups["project"])
        events = [e for i in self.live_issues() if i.project == project.slug for e in i.events]
        events.sort(key=lambda e: e["dateCreated"], reverse=True)
        full = record.param("full") in ("1", "true", "True")
        return self._list(record, [dict(e) if full else simple_event(e) for e in events])

    # -- releases (docs.sentry.io/api/releases/) ----------------------------------------------

    def _op_list_releases(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        text = (record.param("query") or "").lower()
        project_ids = self._project_filter(record)
        wanted = None if project_ids is None else {self.project(str(p)).slug for p in project_ids}
        releases = [
            r
            for r in self.releases()
            if text in r.version.lower() and (wanted is None or wanted & set(r.projects))
        ]
        return self._list(record, [self.release_json(r) for r in releases])

    def _project_exists(self, slug_or_id: str) -> bool:
        try:
            self.project(slug_or_id)
        except ApiError:
            return False
        return True

    def _op_get_release(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        release = self.release(groups["version"])
        if release is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(200, self.release_json(release))

    def _op_create_release(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        body = record.json if isinstance(record.json, dict) else {}
        errors: JSON = {}
        version = body.get("version")
        projects = body.get("projects")
        if not isinstance(version, str) or not version:
            errors["version"] = ["This field is required."]
        if not isinstance(projects, list) or not projects:
            errors["projects"] = ["This field is required."]
        elif not all(isinstance(p, str) and self._project_exists(p) for p in projects):
            errors["projects"] = ["Invalid project ids or slugs"]
        refs = body.get("refs") or []
        if not isinstance(refs, list) or not all(
            isinstance(r, dict) and r.get("repository") and r.get("commit") for r in refs
        ):
            errors["refs"] = ["Each ref needs repository and commit."]
        if errors:
            raise ApiError(400, errors)
        existing = self.release(str(version))
        if existing is not None:
            return Reply(208, self.release_json(existing))
        slugs = [self.project(str(p)).slug for p in projects or []]
        return Reply(201, self.create_release(str(version), slugs, refs=refs))

    # -- members and teams (docs.sentry.io/api/organizations/, docs.sentry.io/api/teams/) ----

    def _op_list_members(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        terms = parse_query(record.param("query") or "")
        members = [self.member_json(m) for m in self.members() if self.member_matches(m, terms)]
        return self._list(record, members)

    def _op_get_member(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        """Member details with `teams` (slugs) and `teamRoles` (Sentry
        `src/sentry/core/endpoints/organization_member_details.py`, serialized by
        `OrganizationMemberWithRolesSerializer`); an id that is not an integer or names no
        member of this organization is 404 (`ResourceDoesNotExist`)."""
        raw = groups["member"]
        member = next(
            (m for m in self.members() if raw.isascii() and raw.isdigit() and m.id == int(raw)),
            None,
        )
        if member is None:
            return Reply(404, {"detail": "The requested resource does not exist"})
        user_id = member.user_id
        slugs = sorted(
            t.slug for t in self.teams() if user_id is not None and user_id in t.user_ids
        )
        body = self.member_json(member)
        body["teams"] = slugs
        body["teamRoles"] = [{"teamSlug": slug, "role": None} for slug in slugs]
        return Reply(200, body)

    def _op_list_teams(self, record: RecordedRequest, groups: dict[str, str]) -> Reply:
        text = (record.param("query") or "").lower()
        teams = [
            self.team_json(t)
            for t in sorted(self.teams(), key=lambda t: t.slug)
            if text in t.slug.lower() or text in t.name.lower()
        ]
        return self._list(record, teams)


def drf_field_error(error: jsonschema.ValidationError) -> JSON:
    """A schema violation as `GroupValidator` words it: DRF's field messages, nested by path
    (`rest_framework/fields.py` `default_error_messages`)."""
    value = error.instance
    validator = error.validator
    if validator == "enum":
        message = f'"{value}" is not a valid choice.'
    elif validator == "maximum":
        message = f"Ensure this value is less than or equal to {error.validator_value}."
    elif validator == "minimum":
        message = f"Ensure this value is greater than or equal to {error.validator_value}."
    elif validator == "type" and "boolean" in str(error.validator_value):
        message = "Must be a valid boolean."
    elif validator == "type" and "integer" in str(error.validator_value):
        message = "A valid integer is required."
    elif validator == "type" and "string" in str(error.validator_value):
        message = "Not a valid string."
    elif validator == "type" and "object" in str(error.validator_value):
        message = f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
    else:
        message = error.message
    body: Any = [message]
    path = [str(part) for part in error.absolute_path] or ["non_field_errors"]
    for part in reversed(path):
        body = {part: body}
    return dict(body)


@cache
def gzip_bomb(inflated_bytes: int) -> bytes:
    """`[` + spaces + `]`, gzip-compressed: valid JSON of `inflated_bytes` bytes, ~1/1000 the
    size on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b"[")]
    block = b" " * (1 << 20)
    remaining = max(inflated_bytes - 2, 0)
    while remaining > 0:
        chunk = block if remaining >= len(block) else block[:remaining]
        parts.append(packer.compress(chunk))
        remaining -= len(chunk)
    parts.append(packer.compress(b"]"))
    parts.append(packer.flush())
    return b"".join(parts)


def _splice_items(list_text: str, raw_items: list[str]) -> str:
    """A JSON list text with `raw_items` (JSON texts) inserted first."""
    inner = list_text.strip()[1:-1].strip()
    return "[" + ", ".join([*raw_items, *([inner] if inner else [])]) + "]"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _sort_value(issues: list[IssueRecord], sort: str) -> int:
    """The value part of issue-search cursors is a sort key; opaque to clients.

    Sentry `src/sentry/utils/cursors.py`.
    """
    if not issues:
        return 0
    newest = issues[0]
    if sort == "new":
        return int(newest.first_seen.timestamp() * 1000)
    if sort == "freq":
        return newest.count
    if sort == "user":
        return newest.user_count
    return int(newest.last_seen.timestamp() * 1000)
