"""Delivering owed cards: one card per issue, or storm summaries, through the outbox.

A channel that owes more issues than `storm_threshold` in one cycle gets summary messages
(up to STORM_MAX_ISSUES issues each) instead of a flood of cards; every issue is still
referenced, oldest first. Claiming, posting, recording and settling a post whose answer was
lost are the outbox's (`bot/outbox/delivery.py`): each message carries its kind and every
issue it lists, so a summary read back after a crash stays a summary of all its issues.

A channel Slack rate-limits is skipped until its limit ends while the other channels are
posted to in the same cycle; its owed cards stay owed and go out once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.card.state import CARD, PRODUCER, SUMMARY
from bot.card.state import revision as card_revision
from bot.card.store import CardRow, CardStore
from bot.metrics import Metrics
from bot.outbox.delivery import Draft, Message, Outbox, drawn
from bot.outbox.store import OWED, OutboxRow
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.models import Issue
from bot.slack.card import STORM_MAX_ISSUES, build_issue_card, build_storm_summary
from bot.slack.notifier import Posted, Refused, Uncertain
from bot.store.routes import Route

logger = logging.getLogger(__name__)


def describe(row: OutboxRow) -> str:
    """A card's outbox row in logs and on `/healthz`: "issue 42"."""
    return "issue " + row.key.removeprefix("issue:")


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
        outbox: Outbox,
        sentry: SentryClient,
        metrics: Metrics,
        clock: Callable[[], datetime],
        storm_threshold: int,
    ) -> None:
        self._cards = cards
        self._outbox = outbox
        self._sentry = sentry
        self._metrics = metrics
        self._clock = clock
        self._storm_threshold = storm_threshold
        self.stopping = False

    async def reconcile(self, *, claimed_before: datetime | None) -> None:
        """Settle cards left in `posting` from their channels' history (see the outbox)."""
        await self._outbox.reconcile(
            producer=PRODUCER, claimed_before=claimed_before, describe=describe
        )

    async def deliver(
        self, known: Mapping[str, Issue], routes: Mapping[int, Route]
    ) -> DeliveryReport:
        """Post every owed card; issues not in `known` are fetched in batches."""
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
                gone = [r for r in owed if r.issue_id not in issues]
                if gone:
                    # Deleted (or merged away) before its card went out: nothing to post.
                    await self._cards.settle_gone(gone, now=self._clock())
                    logger.info("%d owed issues no longer exist in Sentry; not posted", len(gone))
        by_channel: dict[str, list[CardRow]] = defaultdict(list)
        for row in owed:
            if row.issue_id in issues:
                by_channel[row.channel].append(row)
        for channel in list(by_channel):
            until = self._outbox.limited_until(channel)
            if until is not None:
                del by_channel[channel]
                report.rate_limited[channel] = until
        await asyncio.gather(
            *(
                self._deliver_channel(channel, rows, issues, routes, report)
                for channel, rows in by_channel.items()
            )
        )
        self._metrics.cards_owed.set(await self._cards.count(state=OWED))
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
            mentions = _mentions(group, routes)
            shown = [issues[r.issue_id] for r in group]
            if storm:
                draft = Draft(
                    kind=SUMMARY,
                    rows=[r.post for r in group],
                    render=drawn(partial(build_storm_summary, shown, mentions=mentions)),
                    render_claimed=_summary_of(group, issues, mentions),
                )
            else:
                draft = Draft(
                    kind=CARD,
                    rows=[group[0].post],
                    render=drawn(partial(build_issue_card, shown[0], mentions=mentions)),
                )
            outcome = await self._outbox.send(draft)
            if isinstance(outcome, Posted):
                if storm:
                    report.summaries += 1
                else:
                    report.cards += 1
                    await self._cards.record_drawn(
                        group[0].id,
                        rendered=card_revision(shown[0]),
                        status=shown[0].status,
                        substatus=shown[0].substatus,
                    )
            elif isinstance(outcome, Refused) and outcome.retry_after is not None:
                until = self._outbox.limited_until(channel)
                if until is not None:
                    report.rate_limited[channel] = until
                return
            elif isinstance(outcome, Refused):
                logger.error(
                    "Slack refused a post to %s (%s): %s", channel, outcome.error, outcome.fix
                )
                report.refused[channel] = (outcome.error, outcome.fix)
                if outcome.scope == "workspace":
                    report.workspace_problem = f"{outcome.error}: {outcome.fix}"
                if outcome.scope != "message":
                    return
            elif isinstance(outcome, Uncertain):
                return  # left in `posting`: the next reconciliation reads the channel back


def _summary_of(
    rows: Sequence[CardRow], issues: Mapping[str, Issue], mentions: tuple[str, ...]
) -> Callable[[Sequence[str]], Awaitable[Message]]:
    """A storm summary of the rows this process claimed: a row another process (a replica
    acting on a webhook) is posting as a card at the same moment is not listed here too."""
    by_key = {row.post.key: issues[row.issue_id] for row in rows}

    async def render(keys: Sequence[str]) -> Message:
        return build_storm_summary([by_key[key] for key in keys], mentions=mentions)

    return render


def _mentions(rows: Sequence[CardRow], routes: Mapping[int, Route]) -> tuple[str, ...]:
    found: list[str] = []
    for row in rows:
        route = routes.get(row.route_id) if row.route_id is not None else None
        for mention in route.mention if route else ():
            if mention not in found:
                found.append(mention)
    return tuple(found)
