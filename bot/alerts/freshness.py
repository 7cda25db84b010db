"""Keeping tracked cards current, and noticing issues that come back.

Each cycle compares the least recently checked cards (at least 100, or half of
all tracked cards, so every card is checked at least every two cycles, up to
MAX_BATCH) with
Sentry, 100 issues per request (`group=` look-ups), and re-renders only the cards
whose status or assignee changed. Cards older than the retention window are no
longer tracked. An issue that comes back (regressed or escalating) gets a reply
in its card's thread; the reply is owed in the same transaction that records the
card's new state, then posted exactly once like a card: a reply whose answer was lost is
settled from the thread (joining the channel if need be), surfaced when the thread cannot be
read, and held back while Slack rate-limits its channel.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.delivery import HISTORY_MARGIN, card_state_hash
from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue, IssueState
from bot.slack.card import build_regression_reply
from bot.slack.notifier import Posted, Refused, SlackNotifier, Unreadable
from bot.store.cards import CardRow, CardStore
from bot.store.replies import ReplyRow, ReplyStore
from bot.triage.cards import CardUpdater

logger = logging.getLogger(__name__)

COMEBACK = ("regressed", "escalating")
REPLY_EVENT = "sentry_issue_reply"
MIN_BATCH = 100
# At most this many cards are compared per cycle (10 Sentry requests): up to 2,000
# tracked cards are all checked within two cycles; beyond that every card is checked
# once every ceil(tracked / 1,000) cycles, so a cycle's cost stays bounded.
MAX_BATCH = 1_000


def comeback(row: CardRow, issue: Issue) -> str | None:
    """'regressed' or 'escalating' when the issue has just come back, else None."""
    if issue.status != "unresolved" or issue.substatus not in COMEBACK:
        return None
    if row.status == issue.status and row.substatus == issue.substatus:
        return None
    return issue.substatus


def _differs(state: Issue | IssueState | None, row: CardRow) -> bool:
    return state is not None and card_state_hash(state) != row.rendered


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
        notifier: SlackNotifier,
        metrics: Metrics,
        clock: Callable[[], datetime],
        retention: timedelta,
        broadcast: bool,
    ) -> None:
        self._sentry = sentry
        self._cards = cards
        self._replies = replies
        self._updater = updater
        self._notifier = notifier
        self._metrics = metrics
        self._clock = clock
        self._retention = retention
        self._broadcast = broadcast
        self._token = uuid.uuid4().hex

    async def refresh(self, known: Mapping[str, Issue]) -> FreshnessReport:
        """Compare a batch of tracked cards with Sentry; `known` issues need no request."""
        report = FreshnessReport()
        now = self._clock()
        since = now - self._retention
        total = await self._cards.count_tracked(posted_since=since)
        if not total:
            return report
        rows = await self._cards.tracked(
            posted_since=since, limit=min(MAX_BATCH, max(MIN_BATCH, math.ceil(total / 2)))
        )
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
            return report
        unchanged: list[int] = []
        for row in rows:
            issue = issues.get(row.issue_id)
            report.checked += 1
            if issue is None or card_state_hash(issue) == row.rendered:
                unchanged.append(row.id)
                continue
            kind = comeback(row, issue)
            if not await self._updater.render(row, issue, record=kind is None):
                continue
            report.updated += 1
            if kind is not None:
                await self._replies.record_comeback(
                    card_id=row.id,
                    channel=row.channel,
                    issue_id=row.issue_id,
                    kind=kind,
                    rendered=card_state_hash(issue),
                    status=issue.status,
                    substatus=issue.substatus,
                    now=now,
                )
        await self._cards.mark_checked(unchanged, now=now)
        report.replies = await self.deliver_replies(issues)
        return report

    async def deliver_replies(self, issues: Mapping[str, Issue]) -> int:
        """Post owed thread replies; settle interrupted ones from the thread first."""
        now = self._clock()
        posted = 0
        in_flight = await self._replies.in_flight(claimed_before=None)
        self._notifier.stalls.retain("reply", (str(r.id) for r in in_flight))
        for row in in_flight:
            if row.claimed_at is not None and row.claimed_at < now - HISTORY_MARGIN:
                await self._settle(row)
        for row in await self._replies.owed():
            if self._notifier.stalls.limited_until(row.channel) is not None:
                continue  # Slack rate-limits this channel: posted once the limit ends
            card = next(
                (c for c in await self._cards.for_issue(row.issue_id) if c.id == row.card_id), None
            )
            if card is None or not card.message_ts:
                continue
            issue = issues.get(row.issue_id)
            if issue is None:
                if IssueId.parse(row.issue_id) is None:
                    continue  # not an issue id (an old row): nothing to read it by
                try:
                    issue = await self._sentry.get_issue(row.issue_id)
                except SentryError as exc:
                    logger.warning("cannot read issue %s for its reply: %s", row.issue_id, exc)
                    continue
            if not await self._replies.claim(row.id, token=self._token, now=self._clock()):
                continue
            outcome = await self._notifier.post(
                row.channel,
                build_regression_reply(issue),
                metadata={
                    "event_type": REPLY_EVENT,
                    "event_payload": {"issue_id": row.issue_id, "reply_key": _key(row)},
                },
                thread_ts=card.message_ts,
                reply_broadcast=self._broadcast,
            )
            if isinstance(outcome, Posted):
                await self._replies.mark_posted(row.id, ts=outcome.ts, now=self._clock())
                self._metrics.cards_posted.labels("reply").inc()
                posted += 1
            elif isinstance(outcome, Refused) and outcome.retry_after is not None:
                await self._replies.release([row.id])
            elif isinstance(outcome, Refused):
                await self._replies.release([row.id])
                logger.error(
                    "Slack refused a reply in %s (%s): %s", row.channel, outcome.error, outcome.fix
                )
            # Uncertain: left claimed, settled from the thread on a later cycle.
        return posted

    async def _settle(self, row: ReplyRow) -> None:
        card = next(
            (c for c in await self._cards.for_issue(row.issue_id) if c.id == row.card_id), None
        )
        if card is None or not card.message_ts:
            return
        found = await self._notifier.find_reply(
            row.channel, card.message_ts, event_type=REPLY_EVENT, key=_key(row)
        )
        if isinstance(found, Unreadable):
            self._notifier.stalls.settle_failed(
                "reply",
                str(row.id),
                channel=row.channel,
                what=f"thread reply for issue {row.issue_id}",
                reason=found.reason,
            )
            return
        self._notifier.stalls.settled("reply", str(row.id))
        if found is not None:
            await self._replies.mark_posted(row.id, ts=found, now=self._clock())
        else:
            await self._replies.release([row.id])


def _key(row: ReplyRow) -> str:
    return f"{row.card_id}.{row.seq}"
