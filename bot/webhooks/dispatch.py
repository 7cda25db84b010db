"""Acting on queued webhook deliveries, through the same paths as polling.

A new issue (`created`) is routed like a polled one: each group of routes sharing a query and
environment runs its own search narrowed to the delivered issues (`<query> issue.id:[…]`, the
`issue.id` search key of Sentry `src/sentry/search/snuba/backend.py`), so a route's projects,
query and environment hold for the issue exactly as polling sees it, and the watermark and
projects are applied by the poller's own `match`. The owed cards go into the same card ledger
and out through the same delivery, so one card is posted whether the webhook or the poll sees
the issue first, on whichever replica. A new issue no route's search finds is looked for once
more shortly after (`UNSEEN_RECHECK`), as the search can lag the delivery. An issue that
changed (`resolved`, `assigned`, `ignored`/`archived`, `unresolved`) has its cards redrawn as
the card refresh would (its unfurled cards too); an issue with neither a card nor an unfurl
costs no request at all. A new comment is handed to the `CommentSink`.

Each batch is read back from Sentry (searches, and `group=` look-ups for redraws: one request
per hundred issues), so the bodies are never trusted. A batch that fails on Sentry is tried
again with backoff (`queue.py`); polling covers what is finally given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol

from bot.alerts.delivery import Delivery
from bot.alerts.freshness import Freshness
from bot.alerts.poller import group_routes, match
from bot.card.store import CardStore, NewCard
from bot.metrics import Metrics
from bot.sentry.client import MAX_ISSUE_LIMIT, SentryClient
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue
from bot.store.routes import RouteStore
from bot.webhooks.queue import Job, WebhookQueue

logger = logging.getLogger(__name__)

BATCH: Final = 100
# How long a claimed batch is held: longer than a batch takes (Slack posts included).
HOLD: Final = timedelta(minutes=2)
# Rows left by a replica that died, or due again after a backoff, are looked for this often;
# a delivery to this replica wakes it at once.
SWEEP_SECONDS: Final = 5.0
# A new issue no route's search finds is looked for once more after this: Sentry's issue
# search reads events from its event store, which can lag the issue's creation (and the
# `created` delivery) by seconds. Found then, it is carded; not found, it matches no route.
UNSEEN_RECHECK: Final = timedelta(seconds=10)
STOP_GRACE_SECONDS: Final = 20.0


class CommentSink(Protocol):
    async def comment_created(self, issue_id: IssueId) -> None:
        """A comment was added to the issue in Sentry (read it back from Sentry)."""
        ...


class WebhookDispatcher:
    def __init__(
        self,
        *,
        queue: WebhookQueue,
        sentry: SentryClient,
        routes: RouteStore,
        cards: CardStore,
        delivery: Delivery,
        freshness: Freshness,
        comments: CommentSink,
        metrics: Metrics,
        clock: Callable[[], datetime],
        unseen_recheck: timedelta = UNSEEN_RECHECK,
    ) -> None:
        self._queue = queue
        self._sentry = sentry
        self._routes = routes
        self._cards = cards
        self._delivery = delivery
        self._freshness = freshness
        self._comments = comments
        self._metrics = metrics
        self._clock = clock
        # How long after a new issue's delivery it is looked for once more when no route's
        # search found it yet.
        self.unseen_recheck = unseen_recheck
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """A delivery was queued: work on it now."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sentry webhooks")

    async def close(self) -> None:
        """Let the batch under way finish (bounded), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("a webhook batch did not finish in time; it runs again on restart")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once():
                    pass
            except Exception:
                logger.exception("working on queued Sentry webhooks failed; retrying shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_SECONDS)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and act on it; how many were claimed."""
        jobs = await self._queue.claim(now=self._clock(), limit=BATCH, hold=HOLD)
        if not jobs:
            return 0
        failed: list[Job] = []
        issues = [j for j in jobs if j.kind == "issue"]
        problem: SentryError | None = None
        unseen: list[Job] = []
        try:
            found = await self._issues(issues)
        except SentryError as exc:
            problem = exc
            failed += issues
        except Exception:
            # Tried again with backoff, then left to polling: never retried without end.
            logger.exception("acting on %d webhook issues failed", len(issues))
            failed += issues
        else:
            unseen = [j for j in issues if j.route and j.issue_id not in found and not j.attempts]
            if unseen:
                await self._queue.later(unseen, at=self._clock() + self.unseen_recheck)
                # Looked for again when due, not at the sweep after.
                asyncio.get_running_loop().call_later(
                    self.unseen_recheck.total_seconds(), self.wake
                )
        for job in (j for j in jobs if j.kind == "comment"):
            try:
                await self._comments.comment_created(job.issue_id)
            except Exception:
                logger.exception("handling a new comment on issue %s failed", job.issue_id)
                failed.append(job)
        await self._queue.done([j for j in jobs if j not in failed and j not in unseen])
        if failed:
            given_up = await self._queue.failed(failed, now=self._clock())
            if problem is not None:
                logger.warning(
                    "cannot read %d webhook issues from Sentry (%s); trying again later",
                    len(issues),
                    problem,
                )
            if given_up:
                logger.warning(
                    "gave up %d webhook deliveries after repeated failures; polling covers them",
                    given_up,
                )
        self._metrics.webhooks_pending.set(await self._queue.pending())
        return len(jobs)

    async def _issues(self, jobs: Sequence[Job]) -> set[str]:
        """Route the new issues and redraw the changed ones' cards; the ids of the new issues
        some route's search found."""
        known: dict[str, Issue] = {}
        routed = sorted({j.issue_id for j in jobs if j.route})
        if routed:
            known.update(await self._route(routed))
        found = set(known)
        redrawn = sorted({j.issue_id for j in jobs if j.redraw})
        carded = [i for i in redrawn if await self._freshness.follows(i)]
        missing = [i for i in carded if i not in known]
        if missing:
            known.update((i.id, i) for i in await self._sentry.get_issues_by_ids(missing))
        for issue_id in carded:
            issue = known.get(issue_id)
            if issue is None:
                logger.info("issue %s no longer exists in Sentry; its cards stay", issue_id)
            else:
                await self._freshness.redraw(issue)
        return found

    async def _route(self, ids: Sequence[IssueId]) -> dict[str, Issue]:
        """Owe the new issues' cards where a route matches them, and deliver what is owed."""
        routes = await self._routes.all()
        known: dict[str, Issue] = {}
        owed: list[NewCard] = []
        for (query, environment), group in group_routes(routes).items():
            found = await self._search(query, environment, ids)
            known.update((issue.id, issue) for issue in found)
            owed += match(found, group)
        enqueued = await self._cards.enqueue(owed)
        if owed:
            report = await self._delivery.deliver(known, {r.id: r for r in routes})
            logger.info(
                "webhook: %d new, %d cards, %d summaries posted",
                enqueued,
                report.cards,
                report.summaries,
            )
        return known

    async def _search(
        self, query: str, environment: str | None, ids: Sequence[IssueId]
    ) -> list[Issue]:
        """Those of `ids` the route group's search finds: its query and environment hold."""
        found: list[Issue] = []
        for start in range(0, len(ids), MAX_ISSUE_LIMIT):
            chunk = ids[start : start + MAX_ISSUE_LIMIT]
            narrowed = f"{query} issue.id:[{','.join(chunk)}]".strip()
            try:
                page = await self._sentry.list_issues(
                    query=narrowed, sort="new", environment=environment
                )
            except SentryNotFound:
                if environment is None:
                    raise
                continue  # an environment no event has named yet holds no issues
            found += page.items
        return found
