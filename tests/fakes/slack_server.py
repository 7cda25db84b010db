"""FakeSlack: a real Slack stand-in on 127.0.0.1 for end-to-end tests.

It owns the server life cycle (an aiohttp app on its own event loop in a background thread, on a
random free port), the test-facing API (seeding, inspection, fault switches, Socket Mode control)
and the one lock that guards all state. Behaviour lives in `slack_web` (Web API methods),
`slack_socket` (Socket Mode) and `blockkit_rules`; the state in `slack_workspace`.

Routes, as real Slack lays them out (python-slack-sdk `slack_sdk/web/base_client.py`:
`https://slack.com/api/<method>`; Slack docs: apps.connections.open, Using Socket Mode):

- `POST|GET /api/<method>` — the Web API; the bot is configured with `SLACK_API_URL=<url>/api/`;
- `GET /link/?ticket=…` — the Socket Mode WebSocket handed out by `apps.connections.open`;
- `POST /response/<id>` — response_url endpoints (Slack docs: handling user interaction,
  `response_url`).

Every test-facing method is synchronous and thread-safe. `wait_for` and friends block on a
`threading.Condition` notified on every request, post and ack, so tests never sleep-poll. From
inside an event loop that also runs the code under test, use the `*_async` twins (they wait in a
worker thread and keep the loop free).

Example::

    with FakeSlack() as slack:
        slack.add_channel("C111", "alerts")
        ... run the bot with SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN=slack.bot_token ...
        slack.wait_for(lambda: len(slack.messages("C111")) == 1, timeout=5)
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes.blockkit_rules import validate_blocks
from tests.fakes.slack_method_rules import MANIFEST_BOT_SCOPES
from tests.fakes.slack_requests import link_shared
from tests.fakes.slack_socket import (
    EnvelopeType,
    SentEnvelope,
    SocketAck,
    SocketHub,
)
from tests.fakes.slack_web import (
    BotIdentity,
    PostRateLimiter,
    TokenBook,
    WebApi,
    WebReply,
    truncate_text,
)
from tests.fakes.slack_workspace import (
    ApiCall,
    Channel,
    Edit,
    Ephemeral,
    HomeView,
    Message,
    ResponseOrigin,
    ResponsePost,
    TokenState,
    User,
    View,
    Workspace,
)

__all__ = [
    "ApiCall",
    "BotIdentity",
    "Channel",
    "Edit",
    "Ephemeral",
    "FakeSlack",
    "HomeView",
    "Message",
    "ResponsePost",
    "SocketAck",
    "User",
    "View",
]

DEFAULT_BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
DEFAULT_APP_TOKEN = "xapp-1-A111-3333-fakeapptoken"
RESPONSE_URL_METHOD = "response_url"
"""Pseudo method name under which response_url posts take faults (`fail_next("response_url")`)."""


@dataclass
class _Faults:
    """Pending faults for one method; each request consumes at most one of each kind."""

    slow: deque[float] = field(default_factory=deque)
    fail: deque[tuple[int, str | None, int | None]] = field(default_factory=deque)
    error: deque[str] = field(default_factory=deque)
    drop: int = 0


@dataclass(frozen=True)
class _Taken:
    slow: float | None = None
    fail: tuple[int, str | None, int | None] | None = None
    error: str | None = None
    drop: bool = False


def _mask(token: str | None) -> str:
    if not token:
        return ""
    prefix = token.split("-", 1)[0] + "-" if "-" in token else ""
    return f"{prefix}…{token[-4:]}"


class FakeSlack:
    """Slack's Web API, Socket Mode and response_url endpoints on loopback, with test controls."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        team_id: str = "T111",
        identity: BotIdentity | None = None,
        ts_base: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.identity = identity or BotIdentity()
        self.host = host
        self._cond = threading.Condition(threading.RLock())
        # Real Slack timestamps are epoch seconds; clients filter history by them.
        base = int(time.time()) if ts_base is None else ts_base
        self._workspace = Workspace(team_id=team_id, ts_base=base)
        self._tokens = TokenBook([bot_token], [app_token])
        self._rate = PostRateLimiter()
        self._faults: dict[str, _Faults] = {}
        self._response_origins: dict[str, ResponseOrigin] = {}
        self._hub = SocketHub(self._cond, app_id=self.identity.app_id)
        self._web = WebApi(
            self._workspace, self._tokens, self.identity, self._rate, self._socket_url
        )
        self._workspace.users[self.identity.user_id] = User(
            id=self.identity.user_id,
            email="bot@example.invalid",
            name=self.identity.user,
            team_id=team_id,
            is_bot=True,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # life cycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._loop is not None:
            raise RuntimeError("FakeSlack already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="fake-slack", daemon=True
        )
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link", self._hub.handle)
        app.router.add_get("/link/", self._hub.handle)
        app.router.add_post("/response/{response_id}", self._response_url)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=15)
            self._loop = self._thread = None

    async def _shutdown(self) -> None:
        await self._hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash)."""
        if not self._port:
            raise RuntimeError("FakeSlack not started")
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """What `SLACK_API_URL` / `AsyncWebClient(base_url=…)` should be set to."""
        return f"{self.url}/api/"

    def _socket_url(self) -> str:
        ticket = self._hub.issue_ticket()
        return f"ws://{self.host}:{self._port}/link/?ticket={ticket}&app_id={self.identity.app_id}"

    # seeding -------------------------------------------------------------------------------

    def add_channel(
        self,
        id: str,
        name: str,
        *,
        member: bool = True,
        archived: bool = False,
        is_private: bool = False,
        members: set[str] | None = None,
    ) -> None:
        """A conversation; `member` is the bot's membership, `members` the users (None: all)."""
        with self._cond:
            self._workspace.channels[id] = Channel(
                id=id,
                name=name,
                member=member,
                archived=archived,
                is_private=is_private,
                members=set(members) if members is not None else None,
            )
            self._cond.notify_all()

    def set_channel(
        self, id: str, *, member: bool | None = None, archived: bool | None = None
    ) -> None:
        """Change the bot's membership or the archived flag of a seeded channel."""
        with self._cond:
            channel = self._workspace.channels[id]
            if member is not None:
                channel.member = member
            if archived is not None:
                channel.archived = archived
            self._cond.notify_all()

    def add_user(
        self,
        id: str,
        email: str,
        name: str,
        team_id: str = "T111",
        is_bot: bool = False,
        *,
        deleted: bool = False,
        real_name: str = "",
        guest: bool = False,
    ) -> None:
        with self._cond:
            self._workspace.users[id] = User(
                id=id,
                email=email,
                name=name,
                team_id=team_id,
                is_bot=is_bot,
                deleted=deleted,
                real_name=real_name,
                guest=guest,
            )
            self._cond.notify_all()

    def add_user_message(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """A message posted by a person (not the bot) into history; returns its ts."""
        with self._cond:
            message = Message(
                channel=channel,
                ts=self._workspace.clock.next(),
                text=text,
                blocks=None,
                user=user,
                bot_id=None,
                app_id=None,
                team=self.team_id,
                thread_ts=thread_ts,
                via="seed",
            )
            self._workspace.messages.append(message)
            self._cond.notify_all()
            return message.ts

    def share_links(
        self,
        channel: str,
        user: str,
        urls: Iterable[str],
        *,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """A person posts a message with these links; returns the `link_shared` event Slack
        then sends (deliver it with `slack_requests.event_callback` and `send_event`)."""
        links = list(urls)
        with self._cond:
            ts = self._workspace.clock.next()
            unfurl_id = f"{channel}.{ts.replace('.', '')}.{uuid.uuid4().hex}"
            bot_member = self._workspace.channels[channel].member
            self._workspace.messages.append(
                Message(
                    channel=channel,
                    ts=ts,
                    text=" ".join(f"<{url}>" for url in links),
                    blocks=None,
                    user=user,
                    bot_id=None,
                    app_id=None,
                    team=self.team_id,
                    thread_ts=thread_ts,
                    via="seed",
                    links=links,
                    unfurl_id=unfurl_id,
                )
            )
            self._cond.notify_all()
        return link_shared(
            channel=channel,
            user=user,
            message_ts=ts,
            urls=links,
            unfurl_id=unfurl_id,
            thread_ts=thread_ts,
            is_bot_user_member=bot_member,
        )

    def set_token_state(self, state: TokenState, *, token: str | None = None) -> None:
        """Make the bot token (or `token`) answer `invalid_auth` / `token_revoked` /
        `account_inactive` on every call, or `ok` again."""
        with self._cond:
            self._tokens.states[token or self.bot_token] = state

    def set_scopes(self, scopes: Iterable[str], *, token: str | None = None) -> None:
        """Grant the bot token (or `token`) exactly `scopes`; the default is the manifest's.

        A method needing a scope the token lacks answers `missing_scope` with `needed` and
        `provided` (`slack_method_rules`)."""
        with self._cond:
            self._tokens.scopes[token or self.bot_token] = set(scopes)

    def channel(self, id: str) -> Channel:
        """A copy of a seeded channel as it is now (membership, archived flag)."""
        with self._cond:
            return copy.deepcopy(self._workspace.channels[id])

    def add_token(self, token: str, *, app_level: bool = False) -> None:
        with self._cond:
            self._tokens.states[token] = "ok"
            if app_level:
                self._tokens.app_tokens.add(token)
            else:
                self._tokens.scopes.setdefault(token, set(MANIFEST_BOT_SCOPES))

    def delete_user_message(self, channel: str, ts: str) -> None:
        """The person deletes their message (and with it the app's unfurls under it)."""
        with self._cond:
            found = self._workspace.message(channel, ts)
            if found is None:
                raise KeyError(f"no message {ts} in {channel}")
            found.deleted = True
            self._cond.notify_all()

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open with this trigger_id answers `invalid_arguments` (used or expired)."""
        with self._cond:
            self._web.expired_triggers.add(trigger_id)

    # inspection ----------------------------------------------------------------------------

    def messages(
        self, channel: str | None = None, *, include_deleted: bool = False
    ) -> list[Message]:
        """Top-level posts and thread replies in posting order (copies; `edits` oldest first)."""
        with self._cond:
            return [
                copy.deepcopy(m)
                for m in self._workspace.messages
                if (channel is None or m.channel == channel) and (include_deleted or not m.deleted)
            ]

    def message(self, channel: str, ts: str) -> Message:
        with self._cond:
            found = self._workspace.message(channel, ts)
            if found is None:
                raise KeyError(f"no message {ts} in {channel}")
            return copy.deepcopy(found)

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        with self._cond:
            return [
                copy.deepcopy(e)
                for e in self._workspace.ephemerals
                if user is None or e.user == user
            ]

    def response_posts(self) -> list[ResponsePost]:
        with self._cond:
            return list(self._workspace.response_posts)

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every Web API request received, in order (also the ones answered with a fault)."""
        with self._cond:
            return [c for c in self._workspace.calls if method is None or c.method == method]

    def add_usergroup(
        self, id: str, handle: str, name: str, *, users: Iterable[str] = (), disabled: bool = False
    ) -> None:
        """A user group (`usergroups.list` object, Slack docs: usergroups.list example)."""
        members = list(users)
        with self._cond:
            self._workspace.usergroups[id] = {
                "id": id,
                "team_id": self._workspace.team_id,
                "is_usergroup": True,
                "name": name,
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": 1_700_000_000,
                "date_update": 1_700_000_000,
                "date_delete": 1_700_000_500 if disabled else 0,
                "auto_type": None,
                "created_by": "U0ADMIN01",
                "updated_by": "U0ADMIN01",
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "user_count": len(members),
                "users": members,
            }

    def home_view(self, user: str) -> HomeView | None:
        """The Home view `user` sees now (a copy; `published` holds every version)."""
        with self._cond:
            found = self._workspace.home_views.get(user)
            return copy.deepcopy(found) if found is not None else None

    def set_home_tab_enabled(self, enabled: bool) -> None:
        """With the Home tab off in the app's settings, views.publish answers `not_enabled`."""
        with self._cond:
            self._workspace.home_tab_enabled = enabled

    def views(self) -> list[View]:
        with self._cond:
            return [copy.deepcopy(v) for v in self._workspace.views.values()]

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Block until `predicate()` is true, re-checking after every request, post and ack.

        The predicate runs under the fake's lock (it may call the inspection methods).
        Raises TimeoutError if it is still false after `timeout` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"condition not met within {timeout}s")

    async def wait_for_async(self, predicate: Callable[[], bool], timeout: float) -> None:
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    # faults --------------------------------------------------------------------------------

    def _fault_slot(self, method: str) -> _Faults:
        return self._faults.setdefault(method, _Faults())

    def fail_next(
        self,
        method: str,
        count: int = 1,
        *,
        status: Literal[429, 500, 502, 503] = 429,
        error: str | None = None,
        retry_after: int | None = 1,
    ) -> None:
        """The next `count` calls of `method` ("*" for any) answer `status` and change nothing.
        429 carries `Retry-After` and `{"ok": false, "error": "ratelimited"}`."""
        with self._cond:
            self._fault_slot(method).fail.extend([(status, error, retry_after)] * count)

    def error_next(self, method: str, error_code: str, count: int = 1) -> None:
        """The next `count` calls answer HTTP 200 `{"ok": false, "error": error_code}`."""
        with self._cond:
            self._fault_slot(method).error.extend([error_code] * count)

    def drop_next(self, method: str, count: int = 1) -> None:
        """The next `count` calls take effect, then the connection closes with no response."""
        with self._cond:
            self._fault_slot(method).drop += count

    def slow_next(self, method: str, seconds: float, count: int = 1) -> None:
        """The next `count` calls wait `seconds` before being handled."""
        with self._cond:
            self._fault_slot(method).slow.extend([seconds] * count)

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def enforce_post_rate(self, per_channel_per_sec: float | None = 1.0, burst: int = 1) -> None:
        """Limit chat.postMessage per channel (429, Retry-After); None turns the limit off."""
        with self._cond:
            self._rate.configure(per_channel_per_sec, burst)

    def limit_channel(self, channel: str, retry_after: int | None) -> None:
        """Every chat.postMessage to `channel` answers 429 with this `Retry-After` (nothing is
        posted) until called again with None: a channel Slack limits for a long time."""
        with self._cond:
            if retry_after is None:
                self._rate.held.pop(channel, None)
            else:
                self._rate.held[channel] = retry_after

    def _take_faults(self, method: str) -> _Taken:
        with self._cond:
            slots = [s for s in (self._faults.get(method), self._faults.get("*")) if s is not None]

            def first(kind: str) -> Any:
                for slot in slots:
                    queue: deque[Any] = getattr(slot, kind)
                    if queue:
                        return queue.popleft()
                return None

            drop = False
            for slot in slots:
                if slot.drop:
                    slot.drop -= 1
                    drop = True
                    break
            return _Taken(slow=first("slow"), fail=first("fail"), error=first("error"), drop=drop)

    # HTTP handlers -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        token = None
        if request.content_type == "application/json":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._json(WebReply(200, {"ok": False, "error": "invalid_json"}))
            if not isinstance(body, dict):
                return self._json(WebReply(200, {"ok": False, "error": "json_not_object"}))
            body.pop("token", None)  # Slack ignores a token in a JSON body
            params.update(body)
        else:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        with self._cond:
            self._workspace.calls.append(
                ApiCall(
                    method=method,
                    params=copy.deepcopy(params),
                    token=_mask(token),
                    content_type=request.content_type,
                    received_at=time.time(),
                )
            )
            self._cond.notify_all()
        taken = self._take_faults(method)
        early = await self._early_fault(taken)
        if early is not None:
            return early
        with self._cond:
            reply = self._web.handle(method, params, token)
            self._cond.notify_all()
        if taken.drop:
            return self._drop(request)
        return self._json(reply)

    async def _early_fault(self, taken: _Taken) -> web.StreamResponse | None:
        if taken.slow is not None:
            await asyncio.sleep(taken.slow)
        if taken.fail is not None:
            status, error, retry_after = taken.fail
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            code = error or ("ratelimited" if status == 429 else "internal_error")
            return self._json(WebReply(status, {"ok": False, "error": code}, headers))
        if taken.error is not None:
            return self._json(WebReply(200, {"ok": False, "error": taken.error}))
        return None

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the TCP connection without answering: the change happened, the client never
        hears about it (what a timeout or reset after Slack accepted a post looks like)."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    @staticmethod
    def _json(reply: WebReply) -> web.Response:
        return web.Response(
            status=reply.status,
            text=json.dumps(reply.body),
            content_type="application/json",
            charset="utf-8",
            headers=reply.headers,
        )

    # response_url --------------------------------------------------------------------------

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A response_url as Slack puts in a slash command (`channel`, `user`) or a click on a
        message (`channel`, `message_ts`; `ephemeral` if that message was ephemeral)."""
        response_id = uuid.uuid4().hex
        with self._cond:
            self._response_origins[response_id] = ResponseOrigin(
                channel=channel, message_ts=message_ts, user=user, ephemeral=ephemeral
            )
        return f"{self.url}/response/{response_id}"

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        response_id = request.match_info["response_id"]
        taken = self._take_faults(RESPONSE_URL_METHOD)
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        early = await self._early_fault(taken)
        if early is not None:
            return early
        with self._cond:
            origin = self._response_origins.get(response_id)
            if origin is None:
                status, outcome = 404, "no_service"
            elif not isinstance(body, dict):
                status, outcome = 400, "invalid_payload"
            else:
                status, outcome = self._apply_response(origin, body)
            self._workspace.response_posts.append(
                ResponsePost(
                    response_id=response_id,
                    url=str(request.url),
                    body=body if isinstance(body, dict) else {"_raw": raw.decode(errors="replace")},
                    origin=origin or ResponseOrigin(),
                    received_at=time.time(),
                    outcome=outcome,
                )
            )
            self._cond.notify_all()
        if taken.drop:
            return self._drop(request)
        return web.Response(status=status, text="ok" if status == 200 else outcome)

    def _apply_response(self, origin: ResponseOrigin, body: dict[str, Any]) -> tuple[int, str]:
        """What Slack does with a response_url post (Slack docs "Handling user interaction")."""
        workspace = self._workspace
        if _truthy(body.get("delete_original")):
            target = self._origin_target(origin)
            if target is None:
                return 404, "message_not_found"
            target.deleted = True
            return 200, "deleted"
        blocks = body.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                return 400, "invalid_blocks_format"
            if validate_blocks(blocks):
                return 400, "invalid_blocks"
        text, _ = truncate_text(str(body.get("text") or ""))
        if not text and not blocks:
            return 400, "no_text"
        if _truthy(body.get("replace_original")):
            target = self._origin_target(origin)
            if target is None:
                return 404, "message_not_found"
            if isinstance(target, Message):
                self._web.replace(
                    target, text=text, blocks=blocks, metadata=target.metadata, via="response_url"
                )
            else:
                target.edits.append(
                    Edit(target.text, target.blocks, None, time.time(), "response_url")
                )
                target.text, target.blocks = text, copy.deepcopy(blocks)
            return 200, "replaced"
        thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
        if body.get("response_type") == "in_channel" and origin.channel:
            self._web.post(
                channel=origin.channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                via="response_url",
            )
            return 200, "posted"
        if origin.channel and origin.user:
            workspace.ephemerals.append(
                Ephemeral(
                    channel=origin.channel,
                    user=origin.user,
                    ts=workspace.clock.next(),
                    text=text,
                    blocks=copy.deepcopy(blocks),
                    thread_ts=thread_ts,
                    via="response_url",
                )
            )
            return 200, "ephemeral"
        return 404, "no_service"

    def _origin_target(self, origin: ResponseOrigin) -> Message | Ephemeral | None:
        if origin.channel is None or origin.message_ts is None:
            return None
        if origin.ephemeral:
            return next(
                (
                    e
                    for e in self._workspace.ephemerals
                    if e.channel == origin.channel and e.ts == origin.message_ts and not e.deleted
                ),
                None,
            )
        return self._workspace.message(origin.channel, origin.message_ts)

    # Socket Mode ---------------------------------------------------------------------------

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until a Socket Mode client is connected and has been sent `hello` (a connection
        told to `disconnect` does not count, so this also waits for the reconnect)."""
        self.wait_for(lambda: bool(self._hub.live()), timeout)

    async def wait_connected_async(self, timeout: float = 10.0) -> None:
        await asyncio.to_thread(self.wait_connected, timeout)

    @property
    def socket_connects(self) -> int:
        """How many Socket Mode connections have been opened so far."""
        with self._cond:
            return self._hub.connects

    def send_envelope(
        self,
        type: EnvelopeType,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 10.0,
    ) -> str:
        """Push an envelope to the newest live connection (waiting up to `timeout` for one);
        returns its envelope_id."""
        self.wait_connected(timeout)
        frame = SocketHub.envelope(
            type, payload, retry_attempt=retry_attempt, retry_reason=retry_reason
        )
        envelope_id: str = frame["envelope_id"]
        with self._cond:
            connection = self._hub.live()[-1]
            self._hub.envelopes[envelope_id] = SentEnvelope(
                envelope_id=envelope_id,
                frame=frame,
                connection_id=connection.id,
                sent_at=time.monotonic(),
            )
        self._run(self._hub.send(connection, frame), timeout)
        return envelope_id

    def send_event(
        self,
        callback: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 10.0,
    ) -> str:
        """Deliver an Events API callback (`slack_requests.event_callback`) over Socket Mode: an
        `events_api` envelope whose payload is the callback, as Slack sends it over HTTP
        (Slack docs: Using Socket Mode; `slack_examples/socket_mode_envelope_events_api_*.json`).
        Returns the envelope_id; `wait_for_ack` waits for the app's acknowledgement."""
        if callback.get("type") != "event_callback" or not isinstance(callback.get("event"), dict):
            raise ValueError("send_event takes an event_callback (slack_requests.event_callback)")
        return self.send_envelope(
            "events_api",
            callback,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The ack frame for `envelope_id` (`{"envelope_id", ["payload"]}`); `ack(envelope_id)`
        has the time it took."""
        self.wait_for(lambda: envelope_id in self._hub.acks, timeout)
        return copy.deepcopy(self.ack(envelope_id).frame)

    async def wait_for_ack_async(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for_ack, envelope_id, timeout)

    def ack(self, envelope_id: str) -> SocketAck:
        with self._cond:
            return copy.deepcopy(self._hub.acks[envelope_id])

    def acks(self) -> list[SocketAck]:
        with self._cond:
            return [copy.deepcopy(a) for a in self._hub.acks.values()]

    def disconnect(self, reason: str = "refresh_requested", timeout: float = 5.0) -> None:
        """Send Slack's `disconnect` frame on every live connection; the client is expected to
        reconnect through apps.connections.open (`wait_connected` waits for that)."""
        frame = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake"},
            "connection_info": {"app_id": self.identity.app_id},
        }
        with self._cond:
            targets = self._hub.live()
            for connection in targets:
                connection.retiring = True
            self._cond.notify_all()
        for connection in targets:
            self._run(self._hub.send(connection, frame), timeout)

    def _run(self, coro: Any, timeout: float) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeSlack not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)
