"""Delivering owed cards to Slack exactly once: claim, post, record; reconcile after crashes.

A channel that owes more issues than `storm_threshold` in one cycle gets summary
messages (up to STORM_MAX_ISSUES issues each) instead of a flood of cards; every
issue is still referenced, oldest first. Each message carries the issue ids in
its metadata, which is how a post whose outcome was lost (crash, dropped
connection) is found again in the channel history instead of being posted twice.

A channel Slack rate-limits is skipped until its limit ends (the notifier's `Stalls` board)
while the other channels are posted to in the same cycle; its owed rows stay owed and go out
once. A post whose outcome cannot be read back stays in `posting` (a second copy is worse than
a late one) and is surfaced on the board after a few attempts, until it settles.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.models import Issue, IssueState
from bot.slack.card import STORM_MAX_ISSUES, build_issue_card, build_storm_summary
from bot.slack.notifier import Posted, Refused, SlackNotifier, Uncertain, Unreadable
from bot.store.cards import CardRow, CardStore
from bot.store.routes import Route

logger = logging.getLogger(__name__)

CARD_EVENT = "sentry_issue_card"
SUMMARY_EVENT = "sentry_issue_summary"
# How far before a claim the history is searched for the post it may have made.
HISTORY_MARGIN = timedelta(minutes=2)


def card_metadata(issue_id: str) -> dict[str, object]:
    return {"event_type": CARD_EVENT, "event_payload": {"issue_id": issue_id}}


def card_state_hash(issue: Issue | IssueState) -> str:
    """What the card shows that can change: a change means the card must be re-rendered."""
    assignee = issue.assigned_to.actor_id if issue.assigned_to else ""
    state = f"{issue.status}|{issue.substatus or ''}|{assignee}"
    # The ledger's `rendered` column holds 64 characters; an odd status is digested instead.
    return state if len(state) <= 64 else hashlib.sha256(state.encode()).hexdigest()


@dataclass
class DeliveryReport:
    cards: int = 0
    summaries: int = 0
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)
    rate_limited: dict[str, datetime] = field(default_factory=dict)
    workspace_problem: str | None = None


class Delivery:
    """Posts what the card ledger says is owed."""

    def __init__(
        self,
        *,
        cards: CardStore,
        notifier: SlackNotifier,
        sentry: SentryClient,
        metrics: Metrics,
        clock: Callable[[], datetime],
        storm_threshold: int,
    ) -> None:
        self._cards = cards
        self._notifier = notifier
        self._sentry = sentry
        self._metrics = metrics
        self._clock = clock
        self._storm_threshold = storm_threshold
        self._token = uuid.uuid4().hex
        self.stopping = False

    async def reconcile(self, *, claimed_before: datetime | None) -> None:
        """Settle rows left in `posting`: posted if the channel shows them, owed again if not.

        This process's own rows are settled at once (their post has returned, however it
        ended); other claims only once older than `claimed_before`, since another process
        may still be waiting for Slack's answer.
        """
        in_flight = await self._cards.in_flight(claimed_before=None)
        stalls = self._notifier.stalls
        stalls.retain("card", (str(r.id) for r in in_flight))
        rows = [
            row
            for row in in_flight
            if claimed_before is None
            or row.claim_token == self._token
            or (row.claimed_at is not None and row.claimed_at < claimed_before)
        ]
        by_channel: dict[str, list[CardRow]] = defaultdict(list)
        for row in rows:
            by_channel[row.channel].append(row)
        for channel, channel_rows in by_channel.items():
            since = min(r.claimed_at or r.first_seen for r in channel_rows) - HISTORY_MARGIN
            found = await self._notifier.find_posted(
                channel, since=since, event_types=(CARD_EVENT, SUMMARY_EVENT)
            )
            if isinstance(found, Unreadable):
                # Never guess: the rows stay in flight, tried again next cycle, and are
                # surfaced once they have failed to settle a few times.
                for row in channel_rows:
                    stalls.settle_failed(
                        "card",
                        str(row.id),
                        channel=channel,
                        what=f"card of issue {row.issue_id}",
                        reason=found.reason,
                    )
                continue
            now = self._clock()
            for row in channel_rows:
                stalls.settled("card", str(row.id))
                ts = found.get(row.issue_id)
                if ts:
                    await self._cards.mark_posted([row.id], ts=ts, kind=row.kind, now=now)
                    logger.info("reconciled issue %s in %s: already posted", row.issue_id, channel)
                else:
                    await self._cards.release([row.id], error="not found after interrupted post")
                    logger.info("reconciled issue %s in %s: will post", row.issue_id, channel)

    async def deliver(
        self, known: Mapping[str, Issue], routes: Mapping[int, Route]
    ) -> DeliveryReport:
        """Post every owed row; issues not in `known` are fetched in batches."""
        report = DeliveryReport()
        owed = await self._cards.owed()
        self._metrics.cards_owed.set(len(owed))
        if not owed:
            return report
        issues = dict(known)
        missing = sorted({r.issue_id for r in owed if r.issue_id not in issues})
        if missing:
            try:
                for issue in await self._sentry.get_issues_by_ids(missing):
                    issues[issue.id] = issue
            except SentryError as exc:
                logger.warning("cannot fetch %d owed issues from Sentry: %s", len(missing), exc)
            else:
                gone = [r.id for r in owed if r.issue_id not in issues]
                if gone:
                    # Deleted (or merged away) before its card went out: nothing to post.
                    await self._cards.settle_gone(gone, now=self._clock())
                    logger.info("%d owed issues no longer exist in Sentry; not posted", len(gone))
        by_channel: dict[str, list[CardRow]] = defaultdict(list)
        for row in owed:
            if row.issue_id in issues:
                by_channel[row.channel].append(row)
        for channel in list(by_channel):
            until = self._notifier.stalls.limited_until(channel)
            if until is not None:
                del by_channel[channel]
                report.rate_limited[channel] = until
        await asyncio.gather(
            *(
                self._deliver_channel(channel, rows, issues, routes, report)
                for channel, rows in by_channel.items()
            )
        )
        self._metrics.cards_owed.set(await self._cards.count(state="owed"))
        return report

    async def _deliver_channel(
        self,
        channel: str,
        rows: Sequence[CardRow],
        issues: Mapping[str, Issue],
        routes: Mapping[int, Route],
        report: DeliveryReport,
    ) -> None:
        storm = len(rows) > self._storm_threshold
        groups = (
            [rows[i : i + STORM_MAX_ISSUES] for i in range(0, len(rows), STORM_MAX_ISSUES)]
            if storm
            else [[row] for row in rows]
        )
        for group in groups:
            if self.stopping or report.workspace_problem:
                return
            claimed = await self._cards.claim(
                [r.id for r in group], token=self._token, now=self._clock()
            )
            group = [r for r in group if r.id in claimed]
            if not group:
                continue
            mentions = _mentions(group, routes)
            if storm:
                chunk = [issues[r.issue_id] for r in group]
                message = build_storm_summary(chunk, mentions=mentions)
                metadata: dict[str, object] = {
                    "event_type": SUMMARY_EVENT,
                    "event_payload": {"issue_ids": ",".join(r.issue_id for r in group)},
                }
            else:
                issue = issues[group[0].issue_id]
                message = build_issue_card(issue, mentions=mentions)
                metadata = card_metadata(issue.id)
            outcome = await self._notifier.post(channel, message, metadata=metadata)
            ids = [r.id for r in group]
            if isinstance(outcome, Posted):
                first = issues[group[0].issue_id]
                await self._cards.mark_posted(
                    ids,
                    ts=outcome.ts,
                    kind="summary" if storm else "card",
                    now=self._clock(),
                    rendered=None if storm else card_state_hash(first),
                    status=None if storm else first.status,
                    substatus=None if storm else first.substatus,
                )
                kind = "summary" if storm else "card"
                self._metrics.cards_posted.labels(kind).inc()
                if storm:
                    report.summaries += 1
                else:
                    report.cards += 1
            elif isinstance(outcome, Refused) and outcome.retry_after is not None:
                await self._cards.release(ids, error=outcome.error)
                until = self._notifier.stalls.limited_until(channel)
                if until is not None:
                    report.rate_limited[channel] = until
                return
            elif isinstance(outcome, Refused):
                await self._cards.release(ids, error=outcome.error)
                logger.error(
                    "Slack refused a post to %s (%s): %s", channel, outcome.error, outcome.fix
                )
                report.refused[channel] = (outcome.error, outcome.fix)
                if outcome.scope == "workspace":
                    report.workspace_problem = f"{outcome.error}: {outcome.fix}"
                if outcome.scope != "message":
                    return
            elif isinstance(outcome, Uncertain):
                # Left in `posting`: the next reconciliation reads the channel's history.
                logger.warning(
                    "post to %s may or may not have reached Slack (%s); will reconcile",
                    channel,
                    outcome.reason,
                )
                return


def _mentions(rows: Sequence[CardRow], routes: Mapping[int, Route]) -> tuple[str, ...]:
    found: list[str] = []
    for row in rows:
        route = routes.get(row.route_id) if row.route_id is not None else None
        for mention in route.mention if route else ():
            if mention not in found:
                found.append(mention)
    return tuple(found)
