"""The composition root: builds settings' clients, store, scheduler and listeners once,
runs them until SIGTERM, and closes them in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.delivery import Delivery
from bot.alerts.freshness import Freshness
from bot.alerts.poller import Poller
from bot.card.redraw import CardUpdater
from bot.card.replies import ReplyStore
from bot.card.store import CardStore
from bot.config_file import BotConfig
from bot.digests.runner import DigestRunner
from bot.digests.runs import DigestRuns
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.handlers import HandlerContext, build_app, register
from bot.handlers.http_mode import SlackHttpEndpoint
from bot.handlers.socket_mode import CheckedSocketModeHandler
from bot.metrics import Metrics
from bot.outbox.delivery import Outbox
from bot.outbox.store import OutboxStore
from bot.sentry.client import SentryClient
from bot.settings import Settings
from bot.slack.card import build_issue_card
from bot.slack.notifier import SlackNotifier
from bot.slack.retries import CappedRateLimitRetryHandler
from bot.store.actions import ActionLog
from bot.store.database import create_engine, startup_lock
from bot.store.digests import DigestStore
from bot.store.leases import LeaseStore
from bot.store.migrations import migrate
from bot.store.routes import RouteStore
from bot.triage.directory import MemberDirectory
from bot.triage.identity import IdentityResolver
from bot.triage.service import TriageService
from bot.web import build_web_app

logger = logging.getLogger(__name__)

SLACK_TIMEOUT_SECONDS = 15
# Longest a single Slack call may sleep on rate limits (never more than one poll interval);
# a longer Retry-After parks only the channel concerned.
SLACK_RATE_LIMIT_WAIT_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 20.0
POLL_LEASE = "poller"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runtime:
    """Owns every long-lived object of the process."""

    def __init__(self, settings: Settings, config: BotConfig) -> None:
        self.settings = settings
        self.config = config
        self.metrics = Metrics()
        self.engine = create_engine(settings.database_url)
        self.routes = RouteStore(self.engine)
        self.cards = CardStore(self.engine)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0),
            headers={"User-Agent": "sentry-slack-triage"},
            event_hooks={
                "request": [self._mark_sentry_request],
                "response": [self._count_sentry_response],
            },
        )
        self.sentry = SentryClient(
            self.http,
            base_url=settings.sentry_base_url,
            token=settings.sentry_token,
            org=settings.sentry_org,
        )
        token = settings.slack_bot_token.reveal()
        rate_wait = min(SLACK_RATE_LIMIT_WAIT_SECONDS, float(settings.poll_interval_seconds))
        self.slack = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                CappedRateLimitRetryHandler(max_retry_count=3, max_wait=rate_wait),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        # Posts are retried only on 429 (never posted); any other failure is settled
        # by reading the channel history, so a post is never made twice.
        self.slack_posts = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
            retry_handlers=[CappedRateLimitRetryHandler(max_retry_count=5, max_wait=rate_wait)],
        )
        self.notifier = SlackNotifier(
            client=self.slack, post_client=self.slack_posts, metrics=self.metrics
        )
        # A claim older than this was made by a process that is gone, or whose post has long
        # returned: longer than a Slack call can take, and than two poll cycles.
        settle_after = timedelta(
            seconds=max(120, 4 * SLACK_TIMEOUT_SECONDS, 2 * settings.poll_interval_seconds)
        )
        self.outbox = Outbox(
            store=OutboxStore(self.engine),
            notifier=self.notifier,
            metrics=self.metrics,
            clock=utc_now,
            settle_after=settle_after,
        )
        self.delivery = Delivery(
            cards=self.cards,
            outbox=self.outbox,
            sentry=self.sentry,
            metrics=self.metrics,
            clock=utc_now,
            storm_threshold=settings.storm_threshold,
        )
        self.updater = CardUpdater(
            sentry=self.sentry,
            cards=self.cards,
            screen=self.outbox,
            draw=build_issue_card,
            clock=utc_now,
        )
        self.directory = MemberDirectory(self.sentry)
        self.triage = TriageService(
            sentry=self.sentry,
            identities=IdentityResolver(
                slack=self.slack, directory=self.directory, org=settings.sentry_org
            ),
            directory=self.directory,
            updater=self.updater,
            log=ActionLog(self.engine),
            metrics=self.metrics,
            clock=utc_now,
        )
        self.freshness = Freshness(
            sentry=self.sentry,
            cards=self.cards,
            replies=ReplyStore(self.engine),
            updater=self.updater,
            outbox=self.outbox,
            clock=utc_now,
            retention=timedelta(days=settings.card_retention_days),
            broadcast=settings.regression_broadcast,
        )
        self.poller = Poller(
            sentry=self.sentry,
            routes=self.routes,
            cards=self.cards,
            delivery=self.delivery,
            freshness=self.freshness,
            metrics=self.metrics,
            clock=utc_now,
            reconcile_after=settle_after,
        )
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        # Polling is led by one replica at a time: the holder of the `poller` lease. The
        # lease lives one poll interval and is renewed three times per interval, so a dead
        # leader is replaced within about 1.4 intervals.
        self.leases = LeaseStore(self.engine)
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ttl = timedelta(seconds=max(settings.poll_interval_seconds, 1))
        self.leader = False
        self.digest_store = DigestStore(self.engine)
        self.digest_runner = DigestRunner(
            store=self.digest_store,
            runs=DigestRuns(self.engine),
            outbox=self.outbox,
            routes=self.routes,
            sentry=self.sentry,
            notifier=self.notifier,
            clock=utc_now,
        )
        self.digest_scheduler = DigestScheduler(
            scheduler=self.scheduler,
            store=self.digest_store,
            runner=self.digest_runner,
            clock=utc_now,
        )
        self.digests = DigestService(
            store=self.digest_store,
            runner=self.digest_runner,
            scheduler=self.digest_scheduler,
            clock=utc_now,
        )
        self.bolt = build_app(
            client=self.slack,
            signing_secret=(
                settings.slack_signing_secret.reveal() if settings.slack_signing_secret else ""
            ),
            verify_requests=not settings.socket_mode,
        )
        register(
            self.bolt,
            HandlerContext(
                sentry=self.sentry,
                notifier=self.notifier,
                routes=self.routes,
                cards=self.cards,
                metrics=self.metrics,
                triage=self.triage,
                updater=self.updater,
                digests=self.digests,
            ),
        )
        self.socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None
        self.socket_connected = False
        self.socket_problem: str | None = None
        self.web_runner: web.AppRunner | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._ready = False

    async def _mark_sentry_request(self, request: httpx.Request) -> None:
        request.extensions["started"] = time.monotonic()

    async def _count_sentry_response(self, response: httpx.Response) -> None:
        self.metrics.sentry_requests.labels(f"{response.status_code // 100}xx").inc()
        started = response.request.extensions.get("started")
        if isinstance(started, float):
            self.metrics.sentry_seconds.observe(time.monotonic() - started)

    async def health(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["scheduler"] = "ok" if self.scheduler.running else "stopped"
        checks["mode"] = "socket" if self.settings.socket_mode else "http"
        checks["poller"] = "leader" if self.leader else "standby"
        if self.poller.last_success:
            checks["last_poll"] = self.poller.last_success.isoformat()
        degraded = sorted(self.poller.problems.values()) + self.notifier.stalls.problems()
        if self.socket is not None and not await self.socket.client.is_connected():
            degraded.append(
                self.socket_problem
                or "Slack Socket Mode is not connected; check SLACK_APP_TOKEN (an app-level "
                "token with connections:write) and access to Slack"
            )
        ready = self._ready and checks["database"] == "ok" and checks["scheduler"] == "ok"
        return ready, {
            "status": "ok" if ready else "starting",
            "checks": checks,
            "degraded": degraded,
        }

    async def _connect_socket(self, handler: AsyncSocketModeHandler) -> None:
        """Open the Socket Mode connection, retrying with backoff (1 s doubling to 60 s)
        until it opens; afterwards slack_sdk's client reconnects by itself."""
        delay = 1.0
        while True:
            try:
                await handler.connect_async()  # type: ignore[no-untyped-call]
            except Exception as exc:
                self.socket_problem = (
                    f"Slack Socket Mode cannot connect ({type(exc).__name__}); check "
                    "SLACK_APP_TOKEN (an app-level token with connections:write) and access "
                    "to Slack; retrying"
                )
                logger.warning("%s in %.0f s: %s", self.socket_problem, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            self.socket_connected = True
            self.socket_problem = None
            logger.info("Socket Mode connected")
            return

    async def _hold_lease(self, *, poll_soon: bool = False) -> bool:
        """Take or renew the poll lease; logs and counts leadership changes."""
        try:
            held = await self.leases.acquire(
                POLL_LEASE, holder=self.instance, ttl=self.lease_ttl, now=utc_now()
            )
        except Exception:
            logger.exception("cannot reach the database to renew the poll lease")
            held = False
        if held != self.leader:
            logger.info(
                "this replica %s polling (%s)", "now leads" if held else "stopped", self.instance
            )
            if held:
                self.poller.reconcile_on_next_cycle()
        took_over = held and not self.leader
        self.leader = held
        self.metrics.leader.set(1 if held else 0)
        if took_over and poll_soon and self.scheduler.running:
            # Taken over from a dead leader: poll now rather than at this replica's next
            # scheduled run, up to an interval later.
            self.scheduler.modify_job("poll", next_run_time=utc_now())
        return held

    async def _renew_lease(self) -> None:
        await self._hold_lease(poll_soon=True)

    async def _poll(self) -> None:
        if not await self._hold_lease():
            return
        self._poll_task = asyncio.current_task()
        try:
            report = await self.poller.run_cycle()
            if report.enqueued or report.delivery.cards or report.delivery.summaries:
                logger.info(
                    "poll: %d new, %d cards, %d summaries posted",
                    report.enqueued,
                    report.delivery.cards,
                    report.delivery.summaries,
                )
        except Exception:
            self.metrics.polls.labels("error").inc()
            logger.exception("poll cycle failed; the next cycle retries")
        finally:
            self._poll_task = None

    async def start(self) -> None:
        await migrate(self.engine)
        async with startup_lock(self.engine):
            await self.routes.sync_file_routes(self.config.routes, now=utc_now())
            await self.digest_store.sync_file_digests(self.config.digests, now=utc_now())
        if self.settings.socket_mode:
            assert self.settings.slack_app_token is not None
            self.socket = CheckedSocketModeHandler(
                self.bolt, app_token=self.settings.slack_app_token.reveal()
            )
            # Connected in the background: an unreachable Slack must not keep the health
            # endpoint, polling or a SIGTERM waiting.
            self._socket_task = asyncio.create_task(self._connect_socket(self.socket))
        slack_events: SlackHttpEndpoint | None = None
        if not self.settings.socket_mode:
            assert self.settings.slack_signing_secret is not None
            slack_events = SlackHttpEndpoint(
                self.bolt, signing_secret=self.settings.slack_signing_secret.reveal()
            )
        web_app = build_web_app(health=self.health, metrics=self.metrics, slack=slack_events)
        self.web_runner = web.AppRunner(web_app, access_log=None)
        await self.web_runner.setup()
        await web.TCPSite(self.web_runner, self.settings.bind_host, self.settings.port).start()
        self.scheduler.add_job(
            self._poll,
            IntervalTrigger(seconds=self.settings.poll_interval_seconds, timezone=UTC),
            id="poll",
            max_instances=1,
            coalesce=True,
            next_run_time=utc_now(),
            misfire_grace_time=None,
        )
        self.digest_scheduler.start()
        self.scheduler.add_job(
            self._renew_lease,
            IntervalTrigger(seconds=self.lease_ttl.total_seconds() / 3, timezone=UTC),
            id="lease",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self.scheduler.start()
        # What start-up built lives as long as the process: move it out of the cyclic
        # collector's reach, so full passes stop rescanning it and, being measured against
        # the objects made since, come often enough to free each cycle's garbage early.
        gc.collect()
        gc.freeze()
        self._ready = True
        self.metrics.ready.set(1)
        logger.info(
            "ready: %s mode, polling every %ds, listening on port %d",
            "Socket" if self.settings.socket_mode else "HTTP",
            self.settings.poll_interval_seconds,
            self.settings.port,
        )

    async def close(self) -> None:
        self._ready = False
        self.metrics.ready.set(0)
        self.poller.stop()
        # No new runs, then let the running cycle finish its current post and record it:
        # shutting the scheduler down first would cancel that cycle mid-post.
        if self.scheduler.running:
            self.scheduler.pause()
        task = self._poll_task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                logger.warning("the poll cycle did not finish in time; it resumes on restart")
        await self.digest_runner.drain(SHUTDOWN_GRACE_SECONDS)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.leader:
            try:
                await self.leases.release(POLL_LEASE, holder=self.instance)
            except Exception:
                logger.exception("could not release the poll lease; it expires by itself")
        if self._socket_task is not None:
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._socket_task
        if self.socket is not None:
            try:
                await asyncio.wait_for(
                    self.socket.close_async(),  # type: ignore[no-untyped-call]
                    5.0 if self.socket_connected else 1.0,
                )
            except (TimeoutError, Exception):
                # Never connected (or stuck): close its HTTP session directly.
                session = self.socket.client.aiohttp_client_session
                if session is not None and not session.closed:
                    await session.close()
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        await self.http.aclose()
        await self.engine.dispose()


async def run(settings: Settings, config: BotConfig) -> None:
    """Start everything, wait for SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runtime = Runtime(settings, config)
    try:
        await runtime.start()
        await stop.wait()
        logger.info("stopping")
    finally:
        await runtime.close()
    logger.info("stopped")
