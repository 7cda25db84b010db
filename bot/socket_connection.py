"""Keeping Socket Mode connected: the app token checked with Slack, the connection retried
with backoff while Slack refuses it or cannot be reached, and closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import SLACK_AUTH_ERRORS, RefusedAppTokenNoise, Verdict, open_socket_mode
from bot.handlers.socket_mode import CheckedSocketModeHandler
from bot.readiness import Readiness
from bot.secret import Secret

logger = logging.getLogger(__name__)

SOCKET_RETRY_MAX_SECONDS = 300.0
SOCKET_MODE_SUBJECT = "slack_app_token"
NOT_CONNECTED = (
    "Slack Socket Mode is not connected; check SLACK_APP_TOKEN (an app-level token with "
    "connections:write) and access to Slack"
)


def unreachable(exc: BaseException) -> str:
    return (
        f"Slack Socket Mode is not connected ({type(exc).__name__}); check access to Slack; "
        "retrying"
    )


class SocketConnection:
    """The Socket Mode link of one process, connected in the background so an unreachable
    Slack never holds up the health endpoint, polling or a SIGTERM."""

    def __init__(
        self, bolt: AsyncApp, *, slack: AsyncWebClient, app_token: Secret, readiness: Readiness
    ) -> None:
        self._slack = slack
        self._app_token = app_token
        self._readiness = readiness
        self.handler = CheckedSocketModeHandler(bolt, app_token=app_token.reveal())
        self.handler.client.logger.addFilter(RefusedAppTokenNoise())
        self._task: asyncio.Task[None] | None = None
        self.checked = asyncio.Event()
        self.verdict: Verdict | None = None
        self._refused = asyncio.Event()
        self.connected = False
        self.problem: str | None = None
        readiness.update(SOCKET_MODE_SUBJECT, "checking SLACK_APP_TOKEN with Slack", quiet=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_connected())

    def connections_open_answered(self, error: str | None) -> None:
        """Slack answered `apps.connections.open`: a refusal while connected means slack_sdk
        is reconnecting with a token Slack no longer accepts."""
        if error in SLACK_AUTH_ERRORS and self.connected:
            # Refused on a reconnect by slack_sdk: stop its retry loop, re-check here.
            self._refused.set()

    async def problem_now(self) -> str | None:
        """What `/healthz` reports while the link is down; None while connected."""
        if await self.handler.client.is_connected():
            return None
        return self.problem or NOT_CONNECTED

    async def _keep_connected(self) -> None:
        """Ask Slack for a connection with the app token (`apps.connections.open`), connect to
        the URL it hands out, and while Slack refuses the token or cannot be reached, ask again
        quietly with backoff (1 s doubling to 5 min). Connected, slack_sdk's client reconnects
        by itself; if Slack refuses the token on one of those reconnects, its retry loop is
        stopped and this one takes over again."""
        delay = 1.0
        while True:
            verdict = await open_socket_mode(self._slack, self._app_token)
            self.verdict = verdict
            self.checked.set()
            if verdict.socket_url is None:
                self._down(verdict)
                await asyncio.sleep(delay)
                delay = min(delay * 2, SOCKET_RETRY_MAX_SECONDS)
                continue
            self._readiness.update(
                SOCKET_MODE_SUBJECT, None, cleared="Slack accepts SLACK_APP_TOKEN (Socket Mode)"
            )
            self._refused.clear()
            client = self.handler.client
            client.wss_uri = verdict.socket_url
            client.default_auto_reconnect_enabled = True
            try:
                await self.handler.connect_async()  # type: ignore[no-untyped-call]
            except Exception as exc:
                self._down(Verdict("unknown", unreachable(exc)))
                await asyncio.sleep(delay)
                delay = min(delay * 2, SOCKET_RETRY_MAX_SECONDS)
                continue
            self.connected = True
            self.problem = None
            delay = 1.0
            logger.info("Socket Mode connected")
            await self._refused.wait()
            # slack_sdk would retry the refused token every few seconds with a traceback.
            client.default_auto_reconnect_enabled = False
            client.auto_reconnect_enabled = False
            self.connected = False
            with contextlib.suppress(Exception):
                await client.disconnect()  # type: ignore[no-untyped-call]

    def _down(self, verdict: Verdict) -> None:
        self.connected = False
        self.problem = verdict.problem
        self._readiness.update(SOCKET_MODE_SUBJECT, verdict.problem)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await asyncio.wait_for(
                self.handler.close_async(),  # type: ignore[no-untyped-call]
                5.0 if self.connected else 1.0,
            )
        except (TimeoutError, Exception):
            # Never connected (or stuck): close its HTTP session directly.
            session = self.handler.client.aiohttp_client_session
            if session is not None and not session.closed:
                await session.close()
