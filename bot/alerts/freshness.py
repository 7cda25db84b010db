"""Keeping tracked cards current, and noticing issues that come back.

Each cycle compares a batch of tracked cards (at least 100, or half of all tracked cards,
so every card is checked at least every two cycles, up to MAX_BATCH) with Sentry, 100
issues per request (`group=` look-ups), and re-renders only the cards whose status or
assignee changed. The batches walk the tracked cards in id order, round and round: a card
that was just compared is compared again only after every other one, and nothing needs
writing for the cards that did not change. Cards older than the retention window are no
longer tracked, nor are issues listed in a storm summary (a summary is never replaced by
one issue's card). An issue that comes back (regressed or escalating) gets a reply
in its card's thread; the reply is owed in the same transaction that records the
card's new state, then posted exactly once by the outbox like any message: a reply whose
answer was lost is settled from the thread (joining the channel if need be), surfaced when
the thread cannot be read, and held back while Slack rate-limits its channel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.card.redraw import CardUpdater
from bot.card.replies import PRODUCER as REPLY_PRODUCER
from bot.card.replies import ReplyStore
from bot.card.state import comeback
from bot.card.state import revision as card_revision
from bot.card.store import CardStore, TrackedCard, TrackedCensus
from bot.outbox.delivery import Draft, Outbox, drawn
from bot.outbox.store import OutboxRow
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue, IssueState
from bot.slack.card import build_regression_reply
from bot.slack.notifier import Posted, Refused

logger = logging.getLogger(__name__)

MIN_BATCH = 100
# At most this many cards are compared per cycle (10 Sentry requests): up to 2,000
# tracked cards are all checked within two cycles; beyond that every card is checked
# once every ceil(tracked / 1,000) cycles, so a cycle's cost stays bounded.
MAX_BATCH = 1_000
# With at least 2 * MAX_BATCH tracked cards the batch is MAX_BATCH whatever their number, so
# they are counted again only this often (counting costs one index entry per tracked card);
# fewer are counted every cycle, which then costs little.
CENSUS_EVERY = 60
# Cards posted since a census are looked up from a little before it, so that none posted
# while it was taken is missed (one counted twice only makes the batch larger).
CENSUS_OVERLAP = timedelta(minutes=1)


def describe_reply(row: OutboxRow) -> str:
    """What a reply's outbox row is about in logs and on `/healthz`: "card 7, number 2"."""
    card_id, _, seq = row.key.removeprefix("reply:").partition(".")
    return f"card {card_id}, number {seq}"


def _differs(state: Issue | IssueState | None, row: TrackedCard) -> bool:
    return state is not None and card_revision(state) != row.rendered


@dataclass
class FreshnessReport:
    checked: int = 0
    updated: int = 0
    replies: int = 0
    requests: int = 0


class Freshness:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        cards: CardStore,
        replies: ReplyStore,
        updater: CardUpdater,
        outbox: Outbox,
        clock: Callable[[], datetime],
        retention: timedelta,
        broadcast: bool,
    ) -> None:
        self._sentry = sentry
        self._cards = cards
        self._replies = replies
        self._updater = updater
        self._outbox = outbox
        self._clock = clock
        self._retention = retention
        self._broadcast = broadcast
        # Where the walk through tracked cards is (the last card id compared), and the last
        # census of them with the number of cycles it is still trusted for.
        self._after = 0
        self._census: TrackedCensus | None = None
        self._census_left = 0
        self._census_at = clock()

    async def refresh(self, known: Mapping[str, Issue]) -> FreshnessReport:
        """Compare a batch of tracked cards with Sentry; `known` issues need no request."""
        report = FreshnessReport()
        now = self._clock()
        since = now - self._retention
        census = await self._take_census(now, since)
        if not census.count:
            self._after = 0
            return report
        rows, after = await self._batch(since, census)
        issues = {i: known[i] for i in {r.issue_id for r in rows} if i in known}
        states: dict[str, Issue | IssueState] = dict(issues)
        # Ids that are not issue ids (rows from older versions) are skipped by the client,
        # so they can never fail the batch of every other card. Only what can change a card
        # is asked for first; the whole issue only for the cards that did change.
        missing = sorted({r.issue_id for r in rows} - issues.keys())
        try:
            if missing:
                report.requests = math.ceil(len(missing) / 100)
                states.update((s.id, s) for s in await self._sentry.get_issue_states(missing))
            changed = sorted(
                {r.issue_id for r in rows if _differs(states.get(r.issue_id), r)} - issues.keys()
            )
            if changed:
                report.requests += math.ceil(len(changed) / 100)
                issues.update((i.id, i) for i in await self._sentry.get_issues_by_ids(changed))
        except SentryError as exc:
            logger.warning("cannot refresh %d cards from Sentry: %s", len(rows), exc)
            return report  # the same cards are compared again next cycle
        self._after = after
        report.checked = len(rows)
        drawn = [
            tracked.id
            for tracked in rows
            if (issue := issues.get(tracked.issue_id)) is not None
            and card_revision(issue) != tracked.rendered
        ]
        for row in await self._cards.rows(drawn):
            issue = issues[row.issue_id]
            kind = comeback(row.status, row.substatus, issue)
            if not await self._updater.render(row, issue, record=kind is None):
                continue
            report.updated += 1
            if kind is not None:
                await self._replies.record_comeback(
                    row,
                    kind=kind,
                    rendered=card_revision(issue),
                    status=issue.status,
                    substatus=issue.substatus,
                    now=now,
                )
        report.replies = await self.deliver_replies(issues)
        return report

    async def _take_census(self, now: datetime, since: datetime) -> TrackedCensus:
        """The tracked cards' census. Counted whole every cycle while there are fewer than
        2 * MAX_BATCH (cheap then); above that the batch is MAX_BATCH whatever their number,
        so they are counted whole every CENSUS_EVERY cycles and in between only the cards
        posted since the last count are added (a newly posted card is walked at once)."""
        base = self._census
        if base is None or base.count < 2 * MAX_BATCH or self._census_left <= 0:
            self._census = await self._cards.census(posted_since=since)
            self._census_at = now
            self._census_left = CENSUS_EVERY
            return self._census
        self._census_left -= 1
        fresh = await self._cards.census(posted_since=self._census_at - CENSUS_OVERLAP)
        if not fresh.count:
            return base
        return TrackedCensus(
            count=base.count + fresh.count, first_id=min(base.first_id, fresh.first_id)
        )

    async def _batch(self, since: datetime, census: TrackedCensus) -> tuple[list[TrackedCard], int]:
        """This cycle's cards, and where the walk goes on from: the next cards after the
        last compared, continuing from the lowest tracked id once the newest is passed."""
        limit = min(MAX_BATCH, max(MIN_BATCH, math.ceil(census.count / 2)))
        start = max(self._after, census.first_id - 1)
        rows = await self._cards.tracked(posted_since=since, after=start, limit=limit)
        if len(rows) == limit:
            return rows, rows[-1].id
        seen = {row.id for row in rows}
        wrapped = await self._cards.tracked(
            posted_since=since, after=census.first_id - 1, limit=limit - len(rows)
        )
        fresh = [row for row in wrapped if row.id not in seen]
        # When every tracked card fits in one batch the walk simply starts over next cycle.
        return rows + fresh, fresh[-1].id if fresh else 0

    async def deliver_replies(self, issues: Mapping[str, Issue]) -> int:
        """Post owed thread replies; settle interrupted ones from their threads first."""
        await self._outbox.reconcile(
            producer=REPLY_PRODUCER,
            claimed_before=self._outbox.abandoned_before(),
            describe=describe_reply,
        )
        posted = 0
        for row in await self._replies.owed():
            if self._outbox.limited_until(row.channel) is not None:
                continue  # Slack rate-limits this channel: posted once the limit ends
            issue = issues.get(row.issue_id)
            if issue is None:
                if IssueId.parse(row.issue_id) is None:
                    continue  # not an issue id (an old row): nothing to read it by
                try:
                    issue = await self._sentry.get_issue(row.issue_id)
                except SentryError as exc:
                    logger.warning("cannot read issue %s for its reply: %s", row.issue_id, exc)
                    continue
            outcome = await self._outbox.send(
                Draft(
                    kind="reply",
                    rows=[row.post],
                    render=drawn(partial(build_regression_reply, issue)),
                    thread_ts=row.post.thread_ts,
                    broadcast=self._broadcast,
                    about={"issue_id": row.issue_id},
                )
            )
            if isinstance(outcome, Posted):
                posted += 1
            elif isinstance(outcome, Refused) and outcome.retry_after is None:
                logger.error(
                    "Slack refused a reply in %s (%s): %s", row.channel, outcome.error, outcome.fix
                )
        return posted
