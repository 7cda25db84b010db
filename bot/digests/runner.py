"""Posting digests exactly once per (digest, period): claim, gather, post, record; reconcile.

The ledger row (digest, period_end) is inserted before anything is posted, so of several
replicas whose schedulers fire together exactly one posts (bot/store/digests.py). The message
carries `{"event_type": "sentry_digest", "event_payload": {"digest_id", "period_end"}}` as its
metadata (Slack's message metadata, read back with `conversations.history` and
`include_all_metadata`), which is how a post whose answer was lost is found again instead of
being made twice: a row still `posting` after RECONCILE_AFTER is marked posted when the channel
shows it, and released otherwise, after which the catch-up posts it if it is still worth it.

The catch-up runs at start and every minute (`DigestScheduler.sync`): a period whose time
passed while the bot was down is posted once, marked late, when less than one period overdue,
and skipped with a log line otherwise (`schedule.catch_up_decision`); the next digest's period
then starts where the last posted one ended, so no time falls between two digests.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.digests.builder import build_digest
from bot.digests.content import gather_digest
from bot.digests.schedule import Schedule, catch_up_decision, period_start, previous_fire
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.models import format_time
from bot.sentry.project_ids import UnknownProject
from bot.slack.notifier import Posted, Refused, SlackNotifier, Uncertain, Unreadable
from bot.store.digests import SKIPPED, Digest, DigestRun, DigestStore
from bot.store.routes import RouteStore

logger = logging.getLogger(__name__)

DIGEST_EVENT = "sentry_digest"
# A claim older than this is from a process that died (or lost its answer): reconcile it.
RECONCILE_AFTER = timedelta(minutes=2)
HISTORY_MARGIN = timedelta(minutes=2)
ON_DEMAND_PERIOD = timedelta(hours=24)


def digest_metadata(
    digest_id: int, period_end: datetime, *, on_demand: bool = False
) -> dict[str, object]:
    payload: dict[str, object] = {"digest_id": digest_id, "period_end": format_time(period_end)}
    if on_demand:
        payload["on_demand"] = True
    return {"event_type": DIGEST_EVENT, "event_payload": payload}


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
        routes: RouteStore,
        sentry: SentryClient,
        notifier: SlackNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._routes = routes
        self._sentry = sentry
        self._notifier = notifier
        self._clock = clock
        self._token = uuid.uuid4().hex
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
                recorded = due is not None and await self._store.has_run(digest.id, due)
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
        run = await self._store.claim_run(
            digest,
            period_start=period_end,
            period_end=period_end,
            late=True,
            token=self._token,
            now=self._clock(),
            state=SKIPPED,
        )
        if run is not None:
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
        previous = await self._store.last_posted_end(digest.id)
        start = period_start(schedule_of(digest), period_end, previous_end=previous)
        run = await self._store.claim_run(
            digest,
            period_start=start,
            period_end=period_end,
            late=scheduled_for is not None,
            token=self._token,
            now=self._clock(),
        )
        if run is None:
            return DigestNotPosted("already posted (or being posted) by another run")
        try:
            projects = digest.projects or await self.routed_projects(digest.channel)
            content = await gather_digest(
                self._sentry,
                projects=projects,
                start=start,
                end=period_end,
                top=digest.top,
                scheduled_for=scheduled_for,
            )
        except UnknownProject as exc:
            await self._store.release(run.id)
            logger.error(
                "digest %d for %s names a project Sentry does not have (%s); fix the digest or "
                "route projects, it is retried next minute",
                digest.id,
                digest.channel,
                exc,
            )
            return DigestNotPosted(str(exc))
        except SentryError as exc:
            await self._store.release(run.id)
            logger.warning(
                "digest %d: cannot read Sentry (%s); retried next minute", digest.id, exc
            )
            return DigestNotPosted(f"Sentry: {exc}")
        except BaseException:
            await self._store.release(run.id)
            raise
        outcome = await self._notifier.post(
            digest.channel, build_digest(content), metadata=digest_metadata(digest.id, period_end)
        )
        if isinstance(outcome, Posted):
            await self._store.mark_posted(run.id, ts=outcome.ts, now=self._clock())
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
            await self._store.release(run.id)
            logger.warning(
                "digest %d waits: Slack rate-limits %s (%s)",
                digest.id,
                digest.channel,
                outcome.fix,
            )
            return DigestNotPosted(f"Slack is rate-limiting the channel: {outcome.fix}")
        if isinstance(outcome, Refused):
            await self._store.mark_failed(run.id)
            logger.error(
                "Slack refused digest %d in %s (%s): %s",
                digest.id,
                digest.channel,
                outcome.error,
                outcome.fix,
            )
            return DigestNotPosted(f"Slack refused the post: {outcome.error}. {outcome.fix}")
        assert isinstance(outcome, Uncertain)
        logger.warning(
            "digest %d post to %s may or may not have reached Slack (%s); will reconcile",
            digest.id,
            digest.channel,
            outcome.reason,
        )
        return DigestNotPosted(f"the post may not have reached Slack: {outcome.reason}")

    async def reconcile(self) -> None:
        """Settle runs left `posting`: posted if the channel shows them, released if not."""
        now = self._clock()
        stalls = self._notifier.stalls
        # Every run ever surfaced is older than RECONCILE_AFTER: one missing here is settled.
        in_flight = await self._store.in_flight(claimed_before=now - RECONCILE_AFTER)
        stalls.retain("digest", (str(run.id) for run in in_flight))
        for run in in_flight:
            since = (run.claimed_at or now) - HISTORY_MARGIN
            found = await self._notifier.find_metadata(
                run.channel, since=since, event_types=(DIGEST_EVENT,)
            )
            if isinstance(found, Unreadable):
                # Never guess: tried again next minute, surfaced after a few attempts.
                stalls.settle_failed(
                    "digest",
                    str(run.id),
                    channel=run.channel,
                    what=f"digest {run.digest_id} for the period ending "
                    f"{format_time(run.period_end)}",
                    reason=found.reason,
                )
                continue
            stalls.settled("digest", str(run.id))
            ts = _posted_ts(found, run)
            if ts is not None:
                await self._store.mark_posted(run.id, ts=ts, now=now)
                logger.info(
                    "reconciled digest %d in %s: already posted", run.digest_id, run.channel
                )
            else:
                await self._store.release(run.id)
                logger.info("reconciled digest %d in %s: not posted", run.digest_id, run.channel)

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
        metadata = digest_metadata(digest.id if digest else 0, now, on_demand=True)
        outcome = await self._notifier.post(channel, build_digest(content), metadata=metadata)
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


def _posted_ts(found: Sequence[tuple[dict[str, object], str]], run: DigestRun) -> str | None:
    wanted_end = format_time(run.period_end)
    for payload, ts in found:
        if str(payload.get("digest_id")) == str(run.digest_id) and payload.get("period_end") == (
            wanted_end
        ):
            return ts
    return None
