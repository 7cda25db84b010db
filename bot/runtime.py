"""The composition root: builds settings' clients, store, scheduler and listeners once,
checks that Slack and Sentry accept the credentials, runs until SIGTERM, and closes them in
order."""

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
from bot.credentials import (
    SLACK_AUTH_ERRORS,
    RefusedAppTokenNoise,
    SlackAnswerWatch,
    Verdict,
    check_sentry_token,
    check_slack_bot_token,
    open_socket_mode,
)
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
from bot.readiness import CredentialWatch, Readiness
from bot.sentry.client import SentryClient, time_limits
from bot.settings import Settings
from bot.slack.card import build_issue_card
from bot.slack.notifier import SlackNotifier
from bot.slack.profiles import SlackProfiles
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
# How long start-up waits for the first credential verdicts before it reports itself started
# anyway (an unreachable service must not hold the health endpoint or a SIGTERM).
FIRST_CHECK_SECONDS = 10.0
SOCKET_RETRY_MAX_SECONDS = 300.0
SOCKET_MODE_SUBJECT = "slack_app_token"


class StartupError(Exception):
    """The process cannot start; the message is one line naming the setting to fix."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runtime:
    """Owns every long-lived object of the process."""

    def __init__(self, settings: Settings, config: BotConfig) -> None:
        self.settings = settings
        self.config = config
        self.metrics = Metrics()
        self._started = False  # read by `_readiness_changed`
        self.readiness = Readiness(on_change=self._readiness_changed)
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
            **time_limits(settings.poll_interval_seconds),
        )
        token = settings.slack_bot_token.reveal()
        rate_wait = min(SLACK_RATE_LIMIT_WAIT_SECONDS, float(settings.poll_interval_seconds))
        slack_answers = SlackAnswerWatch(self._slack_answered)
        self.slack = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
            retry_handlers=[
                slack_answers,
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
            retry_handlers=[
                slack_answers,
                CappedRateLimitRetryHandler(max_retry_count=5, max_wait=rate_wait),
            ],
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
                slack=SlackProfiles(self.slack), directory=self.directory, org=settings.sentry_org
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
        self.slack_watch = CredentialWatch(
            subject="slack_bot_token",
            check=lambda: check_slack_bot_token(self.slack),
            readiness=self.readiness,
            checking="SLACK_BOT_TOKEN with Slack",
            cleared="Slack accepts SLACK_BOT_TOKEN",
        )
        self.sentry_watch = CredentialWatch(
            subject="sentry_token",
            check=lambda: check_sentry_token(self.sentry),
            readiness=self.readiness,
            checking="SENTRY_TOKEN with Sentry",
            cleared=f"Sentry accepts SENTRY_TOKEN for organization {settings.sentry_org}",
        )
        self.socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None
        self._socket_checked = asyncio.Event()
        self._socket_verdict: Verdict | None = None
        self._socket_refused = asyncio.Event()
        if settings.socket_mode:
            self.readiness.update(
                SOCKET_MODE_SUBJECT, "checking SLACK_APP_TOKEN with Slack", quiet=True
            )
        self._had_routes = True
        self.socket_connected = False
        self.socket_problem: str | None = None
        self.web_runner: web.AppRunner | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._ready = False

    async def _mark_sentry_request(self, request: httpx.Request) -> None:
        request.extensions["started"] = time.monotonic()

    async def _count_sentry_response(self, response: httpx.Response) -> None:
        self.metrics.sentry_requests.labels(f"{response.status_code // 100}xx").inc()
        if response.status_code == 401:
            self.sentry_watch.saw_refusal()
        elif response.status_code < 300:
            self.sentry_watch.saw_success()
        started = response.request.extensions.get("started")
        if isinstance(started, float):
            self.metrics.sentry_seconds.observe(time.monotonic() - started)

    def _slack_answered(self, method: str, error: str | None) -> None:
        """Every Slack Web API answer: a refused token is checked again, and a success while
        one is marked refused too (it may work again)."""
        if method == "apps.connections.open":
            if error in SLACK_AUTH_ERRORS and self.socket_connected:
                # Refused on a reconnect by slack_sdk: stop its retry loop, re-check here.
                self._socket_refused.set()
            return
        if error in SLACK_AUTH_ERRORS:
            self.slack_watch.saw_refusal()
        elif error is None:
            self.slack_watch.saw_success()

    def _readiness_changed(self, ready: bool) -> None:
        self.metrics.ready.set(1 if ready else 0)
        if ready and self._started:
            self._log_ready()

    def _log_ready(self, note: str = "") -> None:
        logger.info(
            "ready: %s mode, polling every %ds, listening on port %d%s",
            "Socket" if self.settings.socket_mode else "HTTP",
            self.settings.poll_interval_seconds,
            self.settings.port,
            note,
        )

    async def readyz(self) -> tuple[bool, dict[str, Any]]:
        return self.readiness.report()

    @property
    def credentials_refused(self) -> bool:
        """Slack or Sentry refuses the bot's token: a poll cycle could only fail."""
        return self.slack_watch.refused or self.sentry_watch.refused

    async def _note_routes(self) -> None:
        """Warn (once) while no route exists, with how to add the first one."""
        try:
            count = len(await self.routes.all())
        except Exception:
            return  # the poll cycle reports database trouble
        where = self.settings.config_path.name if self.settings.config_path else "bot.yml"
        warning = (
            "no routes yet, so no alerts are posted: type /sentry subscribe <project|*> in a "
            f"channel (invite the bot to private ones first), or add a routes: entry to {where} "
            "(see bot.example.yml) and restart"
        )
        self.readiness.update(
            "routes",
            None,
            () if count else (warning,),
        )
        if count and not self._had_routes:
            logger.info("routes: %d, polling Sentry for them", count)
        self._had_routes = count > 0

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
        """Keep Socket Mode connected: ask Slack for a connection with the app token
        (`apps.connections.open`), connect to the URL it hands out, and while Slack refuses
        the token or cannot be reached, ask again quietly with backoff (1 s doubling to 5 min).
        Connected, slack_sdk's client reconnects by itself; if Slack refuses the token on one
        of those reconnects, its retry loop is stopped and this one takes over again."""
        assert self.settings.slack_app_token is not None
        delay = 1.0
        while True:
            verdict = await open_socket_mode(self.slack, self.settings.slack_app_token)
            self._socket_verdict = verdict
            self._socket_checked.set()
            if verdict.socket_url is None:
                self._socket_down(verdict)
                await asyncio.sleep(delay)
                delay = min(delay * 2, SOCKET_RETRY_MAX_SECONDS)
                continue
            self.readiness.update(
                SOCKET_MODE_SUBJECT, None, cleared="Slack accepts SLACK_APP_TOKEN (Socket Mode)"
            )
            self._socket_refused.clear()
            client = handler.client
            client.wss_uri = verdict.socket_url
            client.default_auto_reconnect_enabled = True
            try:
                await handler.connect_async()  # type: ignore[no-untyped-call]
            except Exception as exc:
                self._socket_down(Verdict("unknown", self._socket_unreachable(exc)))
                await asyncio.sleep(delay)
                delay = min(delay * 2, SOCKET_RETRY_MAX_SECONDS)
                continue
            self.socket_connected = True
            self.socket_problem = None
            delay = 1.0
            logger.info("Socket Mode connected")
            await self._socket_refused.wait()
            # slack_sdk would retry the refused token every few seconds with a traceback.
            client.default_auto_reconnect_enabled = False
            client.auto_reconnect_enabled = False
            self.socket_connected = False
            with contextlib.suppress(Exception):
                await client.disconnect()  # type: ignore[no-untyped-call]

    @staticmethod
    def _socket_unreachable(exc: BaseException) -> str:
        return (
            f"Slack Socket Mode is not connected ({type(exc).__name__}); check access to Slack; "
            "retrying"
        )

    def _socket_down(self, verdict: Verdict) -> None:
        self.socket_connected = False
        self.socket_problem = verdict.problem
        self.readiness.update(SOCKET_MODE_SUBJECT, verdict.problem)

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
        await self._note_routes()
        if self.credentials_refused:
            return  # already reported; the credential watches resume polling once accepted
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

    async def _open_database(self) -> None:
        try:
            await migrate(self.engine)
            async with startup_lock(self.engine):
                await self.routes.sync_file_routes(self.config.routes, now=utc_now())
                await self.digest_store.sync_file_digests(self.config.digests, now=utc_now())
        except Exception as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's own message
            reason = " ".join(str(cause).split())[:200]
            password = self.engine.url.password
            if password:
                reason = reason.replace(str(password), "**********")
            raise StartupError(
                f"DATABASE_URL: cannot open the database ({type(cause).__name__}: {reason}); "
                "check the URL, that the server runs and accepts these credentials"
            ) from exc

    async def start(self) -> None:
        await self._open_database()
        await self._note_routes()
        self.slack_watch.start()
        self.sentry_watch.start()
        if self.settings.socket_mode:
            assert self.settings.slack_app_token is not None
            self.socket = CheckedSocketModeHandler(
                self.bolt, app_token=self.settings.slack_app_token.reveal()
            )
            self.socket.client.logger.addFilter(RefusedAppTokenNoise())
            # Connected in the background: an unreachable Slack must not keep the health
            # endpoint, polling or a SIGTERM waiting.
            self._socket_task = asyncio.create_task(self._connect_socket(self.socket))
        slack_events: SlackHttpEndpoint | None = None
        if not self.settings.socket_mode:
            assert self.settings.slack_signing_secret is not None
            slack_events = SlackHttpEndpoint(
                self.bolt, signing_secret=self.settings.slack_signing_secret.reveal()
            )
        web_app = build_web_app(
            health=self.health,
            metrics=self.metrics,
            slack=slack_events,
            readiness=self.readyz,
        )
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
        await self._await_first_verdicts()
        self._started = True
        socket_refused = self._socket_verdict is not None and self._socket_verdict.refused
        if self.credentials_refused or socket_refused:
            logger.error(
                "started on port %d, but not ready until the problems above are fixed "
                "(GET /readyz lists them)",
                self.settings.port,
            )
        elif self.readiness.ready:
            self._log_ready()
        else:
            # Slack or Sentry could not be asked yet: serving, and checking again.
            self._log_ready(note="; a service could not be asked yet (see above), retrying")

    async def _await_first_verdicts(self) -> None:
        """Wait (bounded) for the first verdict on each credential, so the start-up log says
        whether they work; an unreachable service is reported as such, not waited for."""
        firsts = [self.slack_watch.first_verdict.wait(), self.sentry_watch.first_verdict.wait()]
        if self.settings.socket_mode:
            firsts.append(self._socket_checked.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*firsts), FIRST_CHECK_SECONDS)

    async def close(self) -> None:
        self._ready = False
        self._started = False
        self.metrics.ready.set(0)
        self.poller.stop()
        await self.slack_watch.close()
        await self.sentry_watch.close()
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
    except StartupError as exc:
        logger.error("%s", exc)
        raise SystemExit(1) from None
    finally:
        await runtime.close()
    logger.info("stopped")
