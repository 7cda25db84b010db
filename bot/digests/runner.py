"""Posting digests exactly once per (digest, period): a producer of the outbox.

The run (digest, period_end) is owed in the outbox before anything is gathered, and the
outbox's claim decides which of several replicas whose schedulers fire together posts it
(`bot/digests/runs.py`); the content is gathered from Sentry only once claimed (the draft's
render function). The message carries `{"event_type": "sentry_digest", "event_payload":
{"digest_id", "period_end"}}` (`bot/outbox/metadata.py`), which is how a post whose answer was
lost is found again instead of being made twice: a run another process left `posting` for
longer than the outbox's `settle_after` is marked posted when the channel shows it and owed
again otherwise, after which the catch-up posts it if it is still worth it.

The catch-up runs at start and every minute (`DigestScheduler.sync`): a period whose time
passed while the bot was down is posted once, marked late, when less than one period overdue,
and skipped with a log line otherwise (`schedule.catch_up_decision`); the next digest's period
then starts where the last posted one ended, so no time falls between two digests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.digests.builder import build_digest
from bot.digests.content import gather_digest
from bot.digests.runs import PRODUCER, DigestRuns, run_key
from bot.digests.schedule import Schedule, catch_up_decision, period_start, previous_fire
from bot.outbox import metadata
from bot.outbox.delivery import Draft, NotClaimed, Outbox
from bot.outbox.store import OutboxRow
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.models import format_time
from bot.sentry.project_ids import UnknownProject
from bot.slack.notifier import Posted, Refused, SlackNotifier
from bot.store.digests import Digest, DigestStore
from bot.store.routes import RouteStore

logger = logging.getLogger(__name__)

DIGEST = "digest"
ON_DEMAND_PERIOD = timedelta(hours=24)


def describe_run(row: OutboxRow) -> str:
    """What a run's outbox row is about in logs and on `/healthz`: "schedule 3, period ending …"."""
    digest_id, _, period_end = row.key.removeprefix("digest:").partition("@")
    return f"schedule {digest_id}, period ending {period_end}"


def schedule_of(digest: Digest) -> Schedule:
    return Schedule(digest.cron, digest.timezone)


@dataclass(frozen=True, slots=True)
class DigestPosted:
    ts: str
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True, slots=True)
class DigestNotPosted:
    reason: str


PostOutcome = DigestPosted | DigestNotPosted


class DigestRunner:
    """Posts due digests; every method is safe to run concurrently on several replicas."""

    def __init__(
        self,
        *,
        store: DigestStore,
        runs: DigestRuns,
        outbox: Outbox,
        routes: RouteStore,
        sentry: SentryClient,
        notifier: SlackNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._runs = runs
        self._outbox = outbox
        self._routes = routes
        self._sentry = sentry
        self._notifier = notifier
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- scheduled runs -------------------------------------------------------------------

    async def run_scheduled(self, digest_id: int) -> None:
        """The scheduler job of one digest: post the period that has just ended."""
        try:
            digest = await self._store.get(digest_id)
            if digest is None:
                return
            now = self._clock()
            due = previous_fire(schedule_of(digest), now)
            if due is None or due <= digest.created_at:
                return
            await self.post_period(digest, period_end=due, scheduled_for=None)
        except Exception:
            logger.exception("digest %d failed; the catch-up retries it", digest_id)

    async def catch_up(self, jobs_since: Mapping[int, datetime]) -> None:
        """Post (late) or skip the latest period of each digest that nobody has posted.

        `jobs_since` says since when this process has a scheduler job for each digest: periods
        ending after that are its job's to post, unless the job is late (JOB_GRACE).
        """
        for digest in await self._store.all():
            now = self._clock()
            schedule = schedule_of(digest)
            try:
                due = previous_fire(schedule, now)
                recorded = due is not None and await self._runs.has_run(digest.id, due)
                decision = catch_up_decision(
                    schedule,
                    now=now,
                    created_at=digest.created_at,
                    started_at=jobs_since.get(digest.id, datetime.max.replace(tzinfo=UTC)),
                    already_recorded=recorded,
                )
                if decision.action == "skip" and decision.period_end is not None:
                    await self._skip(digest, decision.period_end, decision.lateness)
                elif decision.action == "post" and decision.period_end is not None:
                    await self.post_period(
                        digest,
                        period_end=decision.period_end,
                        scheduled_for=decision.period_end if decision.late else None,
                    )
            except Exception:
                logger.exception("catch-up of digest %d failed; retried next minute", digest.id)

    async def _skip(self, digest: Digest, period_end: datetime, lateness: timedelta) -> None:
        if await self._runs.skip_run(digest, period_end=period_end, now=self._clock()):
            logger.warning(
                "digest %d for %s: skipped the period ending %s, %s overdue (a whole period "
                "or more); the next digest covers that time",
                digest.id,
                digest.channel,
                format_time(period_end),
                str(lateness).split(".")[0],
            )

    async def post_period(
        self, digest: Digest, *, period_end: datetime, scheduled_for: datetime | None
    ) -> PostOutcome:
        """Claim, gather, post and record one period of a digest (once, across replicas)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await self._post_period(
                digest, period_end=period_end, scheduled_for=scheduled_for
            )
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _post_period(
        self, digest: Digest, *, period_end: datetime, scheduled_for: datetime | None
    ) -> PostOutcome:
        previous = await self._runs.last_posted_end(digest.id)
        start = period_start(schedule_of(digest), period_end, previous_end=previous)
        run = await self._runs.owe_run(
            digest,
            period_start=start,
            period_end=period_end,
            late=scheduled_for is not None,
            now=self._clock(),
        )
        if run is None:
            return DigestNotPosted("already posted (or being posted) by another run")
        start = run.period_start

        async def render() -> Mapping[str, Any]:
            projects = digest.projects or await self.routed_projects(digest.channel)
            content = await gather_digest(
                self._sentry,
                projects=projects,
                start=start,
                end=period_end,
                top=digest.top,
                scheduled_for=scheduled_for,
            )
            return build_digest(content)

        try:
            outcome = await self._outbox.send(
                Draft(kind=DIGEST, rows=[run.post], render=render, retry_refused=False)
            )
        except UnknownProject as exc:
            logger.error(
                "digest %d for %s names a project Sentry does not have (%s); fix the digest or "
                "route projects, it is retried next minute",
                digest.id,
                digest.channel,
                exc,
            )
            return DigestNotPosted(str(exc))
        except SentryError as exc:
            logger.warning(
                "digest %d: cannot read Sentry (%s); retried next minute", digest.id, exc
            )
            return DigestNotPosted(f"Sentry: {exc}")
        if isinstance(outcome, NotClaimed):
            return DigestNotPosted("already posted (or being posted) by another run")
        if isinstance(outcome, Posted):
            logger.info(
                "digest %d posted to %s for the period ending %s%s",
                digest.id,
                digest.channel,
                format_time(period_end),
                " (late)" if scheduled_for is not None else "",
            )
            return DigestPosted(outcome.ts, start, period_end)
        if isinstance(outcome, Refused) and outcome.retry_after is not None:
            # Rate-limited: nothing was posted; the catch-up posts it once the limit ends.
            logger.warning(
                "digest %d waits: Slack rate-limits %s (%s)",
                digest.id,
                digest.channel,
                outcome.fix,
            )
            return DigestNotPosted(f"Slack is rate-limiting the channel: {outcome.fix}")
        if isinstance(outcome, Refused):
            logger.error(
                "Slack refused digest %d in %s (%s): %s",
                digest.id,
                digest.channel,
                outcome.error,
                outcome.fix,
            )
            return DigestNotPosted(f"Slack refused the post: {outcome.error}. {outcome.fix}")
        return DigestNotPosted(f"the post may not have reached Slack: {outcome.reason}")

    async def reconcile(self) -> None:
        """Settle runs left `posting`: posted if the channel shows them, owed again if not."""
        await self._outbox.reconcile(
            producer=PRODUCER,
            claimed_before=self._outbox.abandoned_before(),
            describe=describe_run,
        )

    # -- on demand ------------------------------------------------------------------------

    async def post_now(self, channel: str, digest: Digest | None) -> PostOutcome:
        """The digest of the period so far (or the last 24 hours without a schedule), now."""
        now = self._clock()
        if digest is not None:
            start = previous_fire(schedule_of(digest), now) or now - ON_DEMAND_PERIOD
            projects = digest.projects or await self.routed_projects(channel)
            top = digest.top
        else:
            start, projects, top = now - ON_DEMAND_PERIOD, await self.routed_projects(channel), 10
        try:
            content = await gather_digest(
                self._sentry, projects=projects, start=start, end=now, top=top, on_demand=True
            )
        except UnknownProject as exc:
            return DigestNotPosted(f"{exc}. Fix the projects of this channel's routes or digest.")
        except SentryError as exc:
            return DigestNotPosted(f"Could not read Sentry: {exc}")
        # Posted at once, outside the ledger: asked for in person, answered in person.
        meta = metadata.encode(
            DIGEST, [run_key(digest.id if digest else 0, now)], {"on_demand": True}
        )
        outcome = await self._notifier.post(channel, build_digest(content), metadata=meta)
        if isinstance(outcome, Posted):
            return DigestPosted(outcome.ts, start, now)
        if isinstance(outcome, Refused):
            return DigestNotPosted(f"Slack refused the post: {outcome.error}. {outcome.fix}")
        return DigestNotPosted(f"the post may not have reached Slack: {outcome.reason}")

    async def routed_projects(self, channel: str) -> tuple[str, ...]:
        """The projects routed to a channel; () (every project) when none or any route says all."""
        found: list[str] = []
        for route in await self._routes.all():
            if route.channel != channel:
                continue
            if not route.projects:
                return ()
            found += [p for p in route.projects if p not in found]
        return tuple(found)

    async def drain(self, grace_seconds: float) -> None:
        """Let digests being posted finish (shutdown), so none is left half-recorded."""
        pending = [t for t in self._tasks if not t.done()]
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace_seconds)
        if late:
            logger.warning(
                "%d digest posts did not finish in time; reconciled on restart", len(late)
            )
