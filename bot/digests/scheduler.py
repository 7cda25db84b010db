"""Keeping one apscheduler job per digest in step with the digests table, on every replica.

Each digest is a job `digest:<id>` with a `DigestTrigger` (its crontab in its own time zone).
`sync` re-reads the table, adds, reschedules and removes jobs, then reconciles interrupted posts
and runs the catch-up; it runs at start, every SYNC_SECONDS, and right after a change made with
`/sentry digest`, so a change made on any replica takes effect everywhere without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.runner import DigestRunner, schedule_of
from bot.digests.schedule import DigestTrigger
from bot.store.digests import DigestStore

logger = logging.getLogger(__name__)

JOB_PREFIX: Final = "digest:"
SYNC_JOB: Final = "digest-sync"
SYNC_SECONDS: Final = 60


class DigestScheduler:
    def __init__(
        self,
        *,
        scheduler: AsyncIOScheduler,
        store: DigestStore,
        runner: DigestRunner,
        clock: Callable[[], datetime],
    ) -> None:
        self._scheduler = scheduler
        self._store = store
        self._runner = runner
        self._lock = asyncio.Lock()
        self._clock = clock
        # When each digest's job was (re)scheduled here: the catch-up leaves later periods to it.
        self._jobs_since: dict[int, datetime] = {}

    def start(self) -> None:
        """Add the periodic sync, first run at once (the scheduler is started by the caller)."""
        self._scheduler.add_job(
            self._sync_job,
            IntervalTrigger(seconds=SYNC_SECONDS, timezone=UTC),
            id=SYNC_JOB,
            max_instances=1,
            coalesce=True,
            next_run_time=self._clock(),
            misfire_grace_time=None,
        )

    async def _sync_job(self) -> None:
        try:
            await self.sync()
        except Exception:
            logger.exception("digest schedule sync failed; retried in %ds", SYNC_SECONDS)

    async def sync(self) -> None:
        async with self._lock:
            await self._sync_jobs()
            await self._runner.reconcile()
            await self._runner.catch_up(self._jobs_since)

    async def _sync_jobs(self) -> None:
        digests = {f"{JOB_PREFIX}{d.id}": d for d in await self._store.all()}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in digests:
                job.remove()
                self._jobs_since.pop(int(job.id.removeprefix(JOB_PREFIX)), None)
                logger.info("digest job %s removed", job.id)
        for job_id, digest in digests.items():
            schedule = schedule_of(digest)
            job = self._scheduler.get_job(job_id)
            if job is not None and getattr(job.trigger, "schedule", None) == schedule:
                continue
            self._scheduler.add_job(
                self._runner.run_scheduled,
                DigestTrigger(schedule),
                args=[digest.id],
                id=job_id,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            self._jobs_since[digest.id] = self._clock()
            logger.info(
                "digest %d for %s scheduled: %s (%s)",
                digest.id,
                digest.channel,
                digest.cron,
                digest.timezone,
            )
