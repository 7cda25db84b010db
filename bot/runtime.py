"""The process's life: start the parts the factory built (database, credential checks, Socket
Mode, the HTTP listener, the poll and lease jobs), run until SIGTERM, and stop them in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from datetime import UTC
from typing import Any

from aiohttp import web
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config_file import BotConfig
from bot.factory import Factory, instance_name, utc_now
from bot.handlers.http_mode import SlackHttpEndpoint
from bot.health import Health
from bot.leadership import Leadership
from bot.settings import Settings
from bot.socket_connection import SocketConnection
from bot.store.database import startup_lock
from bot.store.migrations import migrate
from bot.store.routes import Route
from bot.web import build_web_app

__all__ = ["Runtime", "StartupError", "run", "utc_now"]

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20.0
# How long start-up waits for the first credential verdicts before it reports itself started
# anyway (an unreachable service must not hold the health endpoint or a SIGTERM).
FIRST_CHECK_SECONDS = 10.0


class StartupError(Exception):
    """The process cannot start; the message is one line naming the setting to fix."""


class RunningJobs:
    """Scheduled runs under way (submitted, not yet ended), so that a stop lets them finish.

    Shutting apscheduler down cancels a run where it stands; a run cancelled inside a database
    call leaves aiosqlite's worker thread waiting, and the process never exits. The scheduler
    reports each run's submission and its end (success or error, cancellation included)."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _submitted(self, _event: JobSubmissionEvent) -> None:
        self._running += 1
        self._idle.clear()

    def _ended(self, _event: JobEvent) -> None:
        self._running = max(0, self._running - 1)
        if not self._running:
            self._idle.set()

    async def finished(self) -> None:
        """Until no run is under way (the caller bounds the wait)."""
        await self._idle.wait()


class Runtime:
    """Starts, runs and stops what the factory built."""

    def __init__(self, settings: Settings, config: BotConfig) -> None:
        self.settings = settings
        self.config = config
        self._started = False  # read by `_readiness_changed`
        self.parts = parts = Factory(settings, config, on_ready=self._readiness_changed)
        self.readiness = parts.readiness
        # The parts callers reach through the runtime.
        self.metrics = parts.metrics
        self.engine = parts.engine
        self.routes = parts.routes
        self.cards = parts.cards
        self.sentry = parts.sentry
        self.slack = parts.slack
        self.notifier = parts.notifier
        self.delivery = parts.delivery
        self.freshness = parts.freshness
        self.poller = parts.poller
        self.bolt = parts.bolt
        self.outbox = parts.outbox
        self.scheduler = parts.scheduler
        self.digest_runner = parts.digest_runner
        self.leadership = Leadership(
            parts.leases,
            instance=instance_name(),
            interval_seconds=settings.poll_interval_seconds,
            metrics=parts.metrics,
            clock=utc_now,
            on_gained=self._lead,
        )
        self._health = Health(
            engine=parts.engine,
            scheduler=parts.scheduler,
            leadership=self.leadership,
            poller=parts.poller,
            notifier=parts.notifier,
            mode="socket" if settings.socket_mode else "http",
        )
        self.socket: SocketConnection | None = None
        self._had_routes = True
        self.web_runner: web.AppRunner | None = None
        self._jobs = RunningJobs(parts.scheduler)

    def _readiness_changed(self, ready: bool) -> None:
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

    async def health(self) -> tuple[bool, dict[str, Any]]:
        return await self._health.report()

    def _lead(self, poll_now: bool) -> None:
        """This replica has just taken the poll lease: settle what the last leader left in
        flight, and, taken over from a dead leader, poll now rather than at this replica's
        next scheduled run, up to an interval later."""
        self.poller.reconcile_on_next_cycle()
        scheduler = self.parts.scheduler
        if poll_now and scheduler.running:
            scheduler.modify_job("poll", next_run_time=utc_now())

    async def _read_routes(self) -> list[Route] | None:
        """The routes; None when the database cannot be read (the poll cycle reports it)."""
        try:
            return await self.routes.all()
        except Exception:
            return None

    def _note_routes(self, routes: list[Route] | None) -> None:
        """Warn (once) while no route exists, with how to add the first one."""
        if routes is None:
            return
        count = len(routes)
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

    async def _poll(self) -> None:
        routes = await self._read_routes()
        self._note_routes(routes)
        # The first poll runs as the process starts: it waits (bounded) for Sentry's first
        # verdict on the token, so a revoked token is never searched with.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.parts.sentry_watch.first_verdict.wait(), FIRST_CHECK_SECONDS
            )
        if self.parts.credentials_refused:
            return  # already reported; the credential watches resume polling once accepted
        if not await self.leadership.hold():
            return
        try:
            report = await self.poller.run_cycle(routes=routes)
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

    async def _open_database(self) -> None:
        parts = self.parts
        try:
            await migrate(parts.engine)
            async with startup_lock(parts.engine):
                await parts.routes.sync_file_routes(self.config.routes, now=utc_now())
                await parts.digest_store.sync_file_digests(self.config.digests, now=utc_now())
        except Exception as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's own message
            reason = " ".join(str(cause).split())[:200]
            password = parts.engine.url.password
            if password:
                reason = reason.replace(str(password), "**********")
            raise StartupError(
                f"DATABASE_URL: cannot open the database ({type(cause).__name__}: {reason}); "
                "check the URL, that the server runs and accepts these credentials"
            ) from exc

    async def start(self) -> None:
        parts, settings = self.parts, self.settings
        await self._open_database()
        self._note_routes(await self._read_routes())
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            self.socket = SocketConnection(
                parts.bolt,
                slack=parts.slack,
                app_token=settings.slack_app_token,
                readiness=self.readiness,
            )
            parts.on_connections_open.append(self.socket.connections_open_answered)
            self._health.socket_problem = self.socket.problem_now
        parts.slack_watch.start()
        parts.sentry_watch.start()
        slack_events: SlackHttpEndpoint | None = None
        if self.socket is not None:
            # Connected in the background: an unreachable Slack must not keep the health
            # endpoint, polling or a SIGTERM waiting.
            self.socket.start()
        else:
            assert settings.slack_signing_secret is not None
            slack_events = SlackHttpEndpoint(
                parts.bolt, signing_secret=settings.slack_signing_secret.reveal()
            )
        web_app = build_web_app(
            health=self.health,
            metrics=parts.metrics,
            slack=slack_events,
            readiness=self.readyz,
            sentry_webhook=parts.webhook_endpoint,
        )
        self.web_runner = web.AppRunner(web_app, access_log=None)
        await self.web_runner.setup()
        await web.TCPSite(self.web_runner, settings.bind_host, settings.port).start()
        self._schedule()
        if parts.webhooks is not None:
            parts.webhooks.start()
        # What start-up built lives as long as the process: move it out of the cyclic
        # collector's reach, so full passes stop rescanning it and, being measured against
        # the objects made since, come often enough to free each cycle's garbage early.
        gc.collect()
        gc.freeze()
        self._health.started = True
        await self._await_first_verdicts()
        self._started = True
        socket_refused = (
            self.socket is not None
            and self.socket.verdict is not None
            and self.socket.verdict.refused
        )
        if parts.credentials_refused or socket_refused:
            logger.error(
                "started on port %d, but not ready until the problems above are fixed "
                "(GET /readyz lists them)",
                settings.port,
            )
        elif self.readiness.ready:
            self._log_ready()
        else:
            # Slack or Sentry could not be asked yet: serving, and checking again.
            self._log_ready(note="; a service could not be asked yet (see above), retrying")

    def _schedule(self) -> None:
        """The poll job (now, then every interval), the digests, and the lease's renewal."""
        scheduler = self.parts.scheduler
        scheduler.add_job(
            self._poll,
            IntervalTrigger(seconds=self.settings.poll_interval_seconds, timezone=UTC),
            id="poll",
            max_instances=1,
            coalesce=True,
            next_run_time=utc_now(),
            misfire_grace_time=None,
        )
        self.parts.digest_scheduler.start()
        scheduler.add_job(
            self.leadership.renew,
            IntervalTrigger(seconds=self.leadership.renew_every.total_seconds(), timezone=UTC),
            id="lease",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()

    async def _await_first_verdicts(self) -> None:
        """Wait (bounded) for the first verdict on each credential, so the start-up log says
        whether they work; an unreachable service is reported as such, not waited for."""
        parts = self.parts
        firsts = [parts.slack_watch.first_verdict.wait(), parts.sentry_watch.first_verdict.wait()]
        if self.socket is not None:
            firsts.append(self.socket.checked.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*firsts), FIRST_CHECK_SECONDS)

    async def close(self) -> None:
        parts = self.parts
        self._health.started = False
        self._started = False
        parts.metrics.ready.set(0)
        parts.poller.stop()
        if parts.webhooks is not None:
            await parts.webhooks.close()
        await parts.slack_watch.close()
        await parts.sentry_watch.close()
        # No new runs, then let the running cycle finish its current post and record it:
        # shutting the scheduler down first would cancel that cycle mid-post.
        scheduler = parts.scheduler
        if scheduler.running:
            scheduler.pause()
        # Every run under way (the poll cycle, a lease renewal, a digest) ends before the
        # scheduler is shut down and the database closed.
        try:
            await asyncio.wait_for(self._jobs.finished(), SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("a scheduled run did not finish in time; its work resumes on restart")
        await parts.digest_runner.drain(SHUTDOWN_GRACE_SECONDS)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await self.leadership.release()
        if self.socket is not None:
            await self.socket.close()
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        await parts.aclose()


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
