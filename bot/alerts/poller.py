"""One poll cycle: find each route's new issues in Sentry and enqueue them for delivery.

Cost does not grow with the number of routes or projects: routes sharing a query
and environment are served by one org-level search per cycle
(`<query> firstSeen:>=<floor>`, newest first), matched to routes by project here.
The floor is the earliest moment any of those routes still needs (its watermark,
or where it was polled up to), minus a look-back that absorbs Sentry's ingestion
delay and clock skew; issues seen again inside the look-back are already in the
card ledger and are ignored there. Where routes were polled up to is recorded once a
minute, not every cycle.

An issue the bot cannot read is left out by the Sentry client (and logged once); the
rest of its page is matched as usual, so the floor still advances. What the client
skipped or gave up on during a cycle is reported with the cycle's problems
(`/healthz`) and counted in `/metrics`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts.delivery import Delivery, DeliveryReport
from bot.alerts.freshness import Freshness, FreshnessReport
from bot.card.store import CardStore, NewCard
from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.models import Issue, Page, format_time
from bot.store.routes import Route, RouteStore

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=5)
# Where a group was polled up to is written at most this often: its floor then lags by up
# to this much more than the look-back, which only re-reads issues the ledger already has,
# and a quiet cycle writes nothing.
RECORD_POLLED_EVERY = timedelta(minutes=1)
MAX_PAGES = 20
# Issues that come back (regressed, escalating) without a card in a routed channel are
# searched for every this many cycles: two searches per route group, so on average well
# under one extra request per cycle. Issues that have a card are caught every cycle by
# the card refresh instead.
COMEBACK_EVERY = 5
COMEBACK_SUBSTATUSES = ("regressed", "escalating")


@dataclass
class CycleReport:
    searches: int = 0
    found: int = 0
    enqueued: int = 0
    failed_groups: list[str] = field(default_factory=list)
    sentry_problem: str | None = None
    skipped: int = 0
    deadline_hits: int = 0
    too_large: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    freshness: FreshnessReport = field(default_factory=FreshnessReport)


def group_routes(routes: Sequence[Route]) -> dict[tuple[str, str | None], list[Route]]:
    """Routes that can share one Sentry search: same query, same environment."""
    groups: dict[tuple[str, str | None], list[Route]] = defaultdict(list)
    for route in routes:
        groups[(route.query, route.environment)].append(route)
    return groups


def search_query(query: str, floor: datetime, before: datetime | None = None) -> str:
    text = f"{query} firstSeen:>={format_time(floor)}"
    if before is not None:
        text += f" firstSeen:<{format_time(before)}"
    return text.strip()


def _owed(
    issues: Sequence[Issue], routes: Sequence[Route], seen: Callable[[Issue], datetime]
) -> list[NewCard]:
    """One card per (channel, issue): the project is routed there and `seen(issue)` is not
    older than the route's watermark."""
    owed: dict[tuple[str, str], NewCard] = {}
    for issue in issues:
        for route in routes:
            if not route.matches_project(issue.project.slug) or seen(issue) < route.watermark:
                continue
            owed.setdefault(
                (route.channel, issue.id),
                NewCard(
                    channel=route.channel,
                    issue_id=issue.id,
                    route_id=route.id,
                    project=issue.project.slug,
                    first_seen=issue.first_seen,
                ),
            )
    return list(owed.values())


def match(issues: Sequence[Issue], routes: Sequence[Route]) -> list[NewCard]:
    """The (channel, issue) pairs owed: project routed and first seen after the watermark."""
    return _owed(issues, routes, lambda issue: issue.first_seen)


def match_comebacks(issues: Sequence[Issue], routes: Sequence[Route]) -> list[NewCard]:
    """Cards owed for issues that came back: any first-seen time (the issue is old by
    nature), but seen again after the route was created. Channels that already have the
    issue's card are skipped by the ledger and get a thread reply from the refresh instead."""
    return _owed(issues, routes, lambda issue: issue.last_seen)


class Poller:
    """Runs cycles: search, enqueue, reconcile interrupted posts, deliver."""

    def __init__(
        self,
        *,
        sentry: SentryClient,
        routes: RouteStore,
        cards: CardStore,
        delivery: Delivery,
        freshness: Freshness,
        metrics: Metrics,
        clock: Callable[[], datetime],
        reconcile_after: timedelta,
        max_pages: int = MAX_PAGES,
        others_post_cards: bool = False,
    ) -> None:
        """`others_post_cards`: other processes may be posting cards at any moment (replicas
        acting on Sentry webhooks), so even the first cycle settles only their abandoned
        claims, never one whose post may still be on its way."""
        self._sentry = sentry
        self._routes = routes
        self._cards = cards
        self._delivery = delivery
        self._freshness = freshness
        self._metrics = metrics
        self._clock = clock
        self._reconcile_after = reconcile_after
        self._max_pages = max_pages
        self._others_post_cards = others_post_cards
        self._reconciled_at_start = False
        self._cycles = 0
        # Per route group: when its last comeback search began.
        self._comeback_since: dict[tuple[str, str | None], datetime] = {}
        # Per route group being read back in several cycles: (cycle it began, read before).
        self._backlogs: dict[tuple[str, str | None], tuple[datetime, datetime]] = {}
        self.last_success: datetime | None = None
        # The Sentry client's counters already exported to metrics.
        self._health_counted = (0, 0, 0)
        # What an operator must know now, by subject ("sentry", "slack", "slack channel C…").
        self.problems: dict[str, str] = {}

    def _note_problems(self, report: CycleReport) -> None:
        """Replace last cycle's problems with this one's (a cleared fault disappears)."""
        problems: dict[str, str] = {}
        if report.sentry_problem:
            problems["sentry"] = f"Sentry: {report.sentry_problem}"
        health = self._sentry.health
        if report.skipped:
            problems["sentry data"] = (
                f"Sentry: skipped {report.skipped} object(s) the bot cannot read this cycle "
                f"(last: {health.last_skip}); the others were delivered"
            )
        if report.deadline_hits:
            problems["sentry deadline"] = (
                f"Sentry: {report.deadline_hits} request(s) took longer than their deadline "
                f"this cycle and were given up (last: {health.last_deadline})"
            )
        if report.too_large:
            problems["sentry size"] = (
                f"Sentry: {report.too_large} answer(s) were larger than the bot reads "
                f"this cycle (last: {health.last_too_large})"
            )
        if report.delivery.workspace_problem:
            problems["slack"] = f"Slack: {report.delivery.workspace_problem}"
        for channel, (error, fix) in report.delivery.refused.items():
            problems[f"slack channel {channel}"] = (
                f"Slack refused posts to {channel} ({error}): {fix}"
            )
        self.problems = problems

    def reconcile_on_next_cycle(self) -> None:
        """After taking over from another replica, settle everything it left in flight."""
        self._reconciled_at_start = False

    def stop(self) -> None:
        self._delivery.stopping = True

    async def _search(
        self,
        query: str,
        environment: str | None,
        floor: datetime,
        before: datetime | None = None,
    ) -> tuple[list[Issue], bool]:
        """Newest first, at most MAX_PAGES pages; True when older matches remain unread."""
        issues: list[Issue] = []
        cursor: str | None = None
        for _ in range(self._max_pages):
            page = await self._issues_in(
                environment,
                query=search_query(query, floor, before),
                sort="new",
                cursor=cursor,
            )
            issues.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return issues, False
        return issues, bool(issues)

    async def _issues_in(
        self, environment: str | None, *, query: str, sort: str, cursor: str | None = None
    ) -> Page[Issue]:
        """One search page; an environment no event has named yet holds no issues.

        Sentry answers 404 when an `environment=` name is unknown to the organization (Sentry
        `api/helpers/environments.py`), which it is until the first event from it arrives: a
        route for a new environment waits quietly instead of failing every cycle.
        """
        try:
            return await self._sentry.list_issues(
                query=query, sort=sort, environment=environment, cursor=cursor
            )
        except SentryNotFound:
            if environment is None:
                raise
            logger.debug("environment %r has no events in Sentry yet", environment)
            return Page(items=(), next_cursor=None, hits=0)

    async def _poll_group(
        self, key: tuple[str, str | None], group: list[Route], started: datetime
    ) -> list[Issue]:
        """One group's issues this cycle, paging back through a backlog across cycles.

        A backlog larger than one cycle reads (after a long downtime) is read newest
        first, then, cycle after cycle, the part older than the oldest issue read so
        far; the routes' `polled_until` only moves once the whole backlog is read, so
        a crash in between starts the backlog over rather than skipping any of it.
        """
        query, environment = key
        floor = min(route.floor for route in group) - LOOKBACK
        backlog = self._backlogs.get(key)
        if backlog is None:
            issues, truncated = await self._search(query, environment, floor)
            if not truncated:
                if any(
                    r.polled_until is None or r.polled_until <= started - RECORD_POLLED_EVERY
                    for r in group
                ):
                    await self._routes.set_polled_until((r.id for r in group), started)
                return issues
            began = started
        else:
            began, before = backlog
            recent, _ = await self._search(query, environment, began - LOOKBACK)
            older, truncated = await self._search(query, environment, floor, before)
            issues = recent + older
            if not truncated:
                del self._backlogs[key]
                await self._routes.set_polled_until((r.id for r in group), began)
                logger.info("read the whole backlog of %r", query)
                return issues
        oldest = min(issue.first_seen for issue in issues)
        self._backlogs[key] = (began, oldest)
        logger.warning(
            "more issues for %r than one cycle reads; reading older ones next cycle "
            "(now at first seen %s)",
            query,
            format_time(oldest),
        )
        return issues

    async def _comebacks(
        self, key: tuple[str, str | None], group: list[Route], started: datetime
    ) -> list[Issue]:
        """Issues of the group's query that regressed or escalated since the last look."""
        query, environment = key
        since = self._comeback_since.get(key) or min(r.floor for r in group)
        found: list[Issue] = []
        for substatus in COMEBACK_SUBSTATUSES:
            page = await self._issues_in(
                environment,
                query=f"{query} is:{substatus} lastSeen:>={format_time(since - LOOKBACK)}",
                sort="date",
            )
            found.extend(page.items)
        self._comeback_since[key] = started
        return found

    def _count_sentry_health(self, report: CycleReport, before: tuple[int, int, int]) -> None:
        """What the Sentry client skipped or gave up on since `before`, into report and metrics."""
        health = self._sentry.health
        report.skipped = health.distinct_skipped_since(before[0])
        report.deadline_hits = health.deadline_hits - before[1]
        report.too_large = health.too_large - before[2]
        self._metrics.sentry_skipped.inc(max(health.skipped - self._health_counted[0], 0))
        self._metrics.sentry_deadline_hits.inc(
            max(health.deadline_hits - self._health_counted[1], 0)
        )
        self._metrics.sentry_too_large.inc(max(health.too_large - self._health_counted[2], 0))
        if health.last_deadline_at is not None:
            self._metrics.sentry_last_deadline_hit.set(health.last_deadline_at)
        self._health_counted = (health.skipped, health.deadline_hits, health.too_large)

    async def run_cycle(self, *, routes: Sequence[Route] | None = None) -> CycleReport:
        """One cycle; `routes` when the caller has just read them (else read here)."""
        report = CycleReport()
        started = self._clock()
        health = self._sentry.health
        before = (health.skipped, health.deadline_hits, health.too_large)
        if routes is None:
            routes = await self._routes.all()
        known: dict[str, Issue] = {}
        for key, group in group_routes(routes).items():
            try:
                issues = await self._poll_group(key, group, started)
            except SentryError as exc:
                report.failed_groups.append(key[0])
                report.sentry_problem = str(exc)
                logger.warning("Sentry search %r failed: %s", key[0], exc)
                continue
            report.searches += 1
            report.found += len(issues)
            known.update((issue.id, issue) for issue in issues)
            report.enqueued += await self._cards.enqueue(match(issues, group))
            if self._cycles % COMEBACK_EVERY == 0:
                try:
                    comebacks = await self._comebacks(key, group, started)
                except SentryError as exc:
                    report.sentry_problem = str(exc)
                    logger.warning("Sentry comeback search %r failed: %s", key[0], exc)
                else:
                    known.update((issue.id, issue) for issue in comebacks)
                    report.enqueued += await self._cards.enqueue(match_comebacks(comebacks, group))
        self._cycles += 1

        if not self._reconciled_at_start and not self._others_post_cards:
            # Nothing of this process is in flight yet, and no other process posts cards
            # unless it leads: every `posting` row is a leftover.
            await self._delivery.reconcile(claimed_before=None)
            self._reconciled_at_start = True
        else:
            await self._delivery.reconcile(claimed_before=started - self._reconcile_after)

        report.delivery = await self._delivery.deliver(known, {r.id: r for r in routes})
        if not self._delivery.stopping:
            report.freshness = await self._freshness.refresh(known)
        outcome = "ok" if not report.failed_groups else "sentry_error"
        self._metrics.polls.labels(outcome).inc()
        self._metrics.poll_seconds.observe((self._clock() - started).total_seconds())
        self._count_sentry_health(report, before)
        self._note_problems(report)
        if not report.failed_groups and not report.delivery.workspace_problem:
            self.last_success = started
        return report
