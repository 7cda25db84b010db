"""Keeping tracked cards current, and noticing issues that come back.

Each cycle compares the next batch of the walk through tracked cards (`bot.alerts.walk`:
half of them, at least 100, at most MAX_BATCH, so every card is checked at least every two
cycles up to 2 * MAX_BATCH cards) with Sentry, 100 issues per request (`group=` look-ups),
and re-renders only the cards whose status or assignee changed; the batch is compared one
request's worth of cards at a time, so a cycle holds one answer in memory whatever the
number of cards. Cards older than the retention window are no longer tracked, nor are
issues listed in a storm summary (a summary is never replaced by one issue's card). An issue
that comes back (regressed or escalating) gets a reply in its card's thread; the reply is
owed in the same transaction that records the card's new state, then posted exactly once by
the outbox like any message: a reply whose answer was lost is settled from the thread
(joining the channel if need be), surfaced when the thread cannot be read, and held back
while Slack rate-limits its channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.alerts.walk import TrackedWalk
from bot.card.redraw import CardUpdater
from bot.card.replies import PRODUCER as REPLY_PRODUCER
from bot.card.replies import ReplyStore
from bot.card.state import comeback
from bot.card.state import revision as card_revision
from bot.card.store import CardStore, TrackedCard
from bot.outbox.delivery import Draft, Outbox, drawn
from bot.outbox.store import OutboxRow
from bot.sentry.client import MAX_ISSUE_LIMIT, SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue, IssueState
from bot.slack.card import build_regression_reply
from bot.slack.notifier import Posted, Refused

logger = logging.getLogger(__name__)

# Cards compared per Sentry request (the most the `group=` look-up takes).
CHUNK = MAX_ISSUE_LIMIT


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
        self._walk = TrackedWalk(cards)

    async def refresh(self, known: Mapping[str, Issue]) -> FreshnessReport:
        """Compare a batch of tracked cards with Sentry; `known` issues need no request."""
        report = FreshnessReport()
        now = self._clock()
        since = now - self._retention
        rows = await self._walk.next(now=now, posted_since=since)
        if not rows:
            return report
        # One Sentry request's worth of cards at a time: what a cycle holds in memory is
        # one answer, not the whole batch, however many cards are tracked.
        shown: dict[str, Issue] = {}
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            try:
                issues = await self._compare(chunk, known, report)
            except SentryError as exc:
                logger.warning("cannot refresh %d cards from Sentry: %s", len(rows) - start, exc)
                return report  # these cards are compared again next cycle, replies sent then
            self._walk.advance(chunk[-1].id)
            report.checked += len(chunk)
            report.updated += await self._redraw(chunk, issues, now)
            shown.update(issues)
        report.replies = await self.deliver_replies({**known, **shown})
        return report

    async def _compare(
        self, rows: Sequence[TrackedCard], known: Mapping[str, Issue], report: FreshnessReport
    ) -> dict[str, Issue]:
        """The issues of the cards among `rows` whose card no longer shows them as they are.

        Only what can change a card is asked for first; the whole issue only for the cards
        that did change. Ids that are not issue ids (rows from older versions) are skipped
        by the client, so they can never fail the request of every other card.
        """
        ids = {r.issue_id for r in rows}
        issues = {i: known[i] for i in ids if i in known}
        states: dict[str, Issue | IssueState] = dict(issues)
        missing = sorted(ids - issues.keys())
        if missing:
            report.requests += 1
            states.update((s.id, s) for s in await self._sentry.get_issue_states(missing))
        changed = sorted(
            {r.issue_id for r in rows if _differs(states.get(r.issue_id), r)} - issues.keys()
        )
        if changed:
            report.requests += 1
            issues.update((i.id, i) for i in await self._sentry.get_issues_by_ids(changed))
        return {
            r.issue_id: issue
            for r in rows
            if (issue := issues.get(r.issue_id)) is not None and _differs(issue, r)
        }

    async def _redraw(
        self, rows: Sequence[TrackedCard], issues: Mapping[str, Issue], now: datetime
    ) -> int:
        """Redraw the cards whose issue changed; a comeback also owes a reply in the thread."""
        updated = 0
        drawn = [r.id for r in rows if r.issue_id in issues]
        for row in await self._cards.rows(drawn):
            issue = issues[row.issue_id]
            kind = comeback(row.status, row.substatus, issue)
            if not await self._updater.render(row, issue, record=kind is None):
                continue
            updated += 1
            if kind is not None:
                await self._replies.record_comeback(
                    row,
                    kind=kind,
                    rendered=card_revision(issue),
                    status=issue.status,
                    substatus=issue.substatus,
                    now=now,
                )
        return updated

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
