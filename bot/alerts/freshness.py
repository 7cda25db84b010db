"""Keeping tracked cards current, and noticing issues that come back.

Each cycle compares the least recently checked cards (at least 100, or half of
all tracked cards, so every card is checked at least every two cycles, up to
MAX_BATCH) with
Sentry, 100 issues per request (`group=` look-ups), and re-renders only the cards
whose status or assignee changed. Cards older than the retention window are no
longer tracked, nor are issues listed in a storm summary (a summary is never replaced by
one issue's card). An issue that comes back (regressed or escalating) gets a reply
in its card's thread; the reply is owed in the same transaction that records the
card's new state, then posted exactly once by the outbox like any message: a reply whose
answer was lost is settled from the thread (joining the channel if need be), surfaced when
the thread cannot be read, and held back while Slack rate-limits its channel. The issues of
cards unfurled under people's messages (`UnfurlWatch`) join the same batch and are redrawn by
`bot.unfurls.live` when they changed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.card.redraw import CardUpdater
from bot.card.replies import PRODUCER as REPLY_PRODUCER
from bot.card.replies import ReplyStore
from bot.card.state import comeback
from bot.card.state import revision as card_revision
from bot.card.store import CardRow, CardStore, TrackedCard
from bot.outbox.delivery import Draft, Outbox, drawn
from bot.outbox.store import OutboxRow
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue, IssueState
from bot.slack.card import build_regression_reply
from bot.slack.notifier import Posted, Refused
from bot.unfurls.store import TrackedUnfurl

logger = logging.getLogger(__name__)

MIN_BATCH = 100
# At most this many cards are compared per cycle (10 Sentry requests): up to 2,000
# tracked cards are all checked within two cycles; beyond that every card is checked
# once every ceil(tracked / 1,000) cycles, so a cycle's cost stays bounded.
MAX_BATCH = 1_000


def describe_reply(row: OutboxRow) -> str:
    """What a reply's outbox row is about in logs and on `/healthz`: "card 7, number 2"."""
    card_id, _, seq = row.key.removeprefix("reply:").partition(".")
    return f"card {card_id}, number {seq}"


def _differs(state: Issue | IssueState | None, row: TrackedCard) -> bool:
    return state is not None and card_revision(state) != row.rendered


class CommentWatch(Protocol):
    """Told the `numComments` each compared card's issue has (`bot.conversation.sync`): the
    refresh already read it, so noticing a new comment costs no request of its own."""

    async def notice(self, observed: Mapping[int, tuple[str, int]]) -> int: ...


class UnfurlWatch(Protocol):
    """The cards unfurled under people's messages (`bot.unfurls.live.LiveUnfurls`): their
    issues join each cycle's batch, so they cost no request of their own."""

    async def due(self) -> Sequence[TrackedUnfurl]: ...

    def changed(
        self, shown: Sequence[TrackedUnfurl], states: Mapping[str, Issue | IssueState]
    ) -> set[str]: ...

    async def settle(self, shown: Sequence[TrackedUnfurl], issues: Mapping[str, Issue]) -> int: ...

    async def follows(self, issue_id: str) -> bool: ...


@dataclass
class FreshnessReport:
    checked: int = 0
    updated: int = 0
    replies: int = 0
    requests: int = 0
    unfurls: int = 0


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
        comments: CommentWatch | None = None,
        unfurls: UnfurlWatch | None = None,
    ) -> None:
        self._sentry = sentry
        self._unfurls = unfurls
        self._comments = comments
        self._cards = cards
        self._replies = replies
        self._updater = updater
        self._outbox = outbox
        self._clock = clock
        self._retention = retention
        self._broadcast = broadcast

    async def refresh(self, known: Mapping[str, Issue]) -> FreshnessReport:
        """Compare a batch of tracked cards with Sentry; `known` issues need no request."""
        report = FreshnessReport()
        now = self._clock()
        since = now - self._retention
        total = await self._cards.count_tracked(posted_since=since)
        shown = await self._unfurls_due()
        if not total and not shown:
            return report
        rows = await self._cards.tracked(
            posted_since=since, limit=min(MAX_BATCH, max(MIN_BATCH, math.ceil(total / 2)))
        )
        wanted = {r.issue_id for r in rows} | {u.issue_id for u in shown}
        issues = {i: known[i] for i in wanted if i in known}
        states: dict[str, Issue | IssueState] = dict(issues)
        # Ids that are not issue ids (rows from older versions) are skipped by the client,
        # so they can never fail the batch of every other card. Only what can change a card
        # is asked for first; the whole issue only for the cards that did change.
        missing = sorted(wanted - issues.keys())
        try:
            if missing:
                report.requests = math.ceil(len(missing) / 100)
                states.update((s.id, s) for s in await self._sentry.get_issue_states(missing))
            changed = sorted(
                ({r.issue_id for r in rows if _differs(states.get(r.issue_id), r)} - issues.keys())
                | self._unfurls_changed(shown, states, issues)
            )
            if changed:
                report.requests += math.ceil(len(changed) / 100)
                issues.update((i.id, i) for i in await self._sentry.get_issues_by_ids(changed))
        except SentryError as exc:
            logger.warning("cannot refresh %d cards from Sentry: %s", len(rows), exc)
            return report
        unchanged: list[int] = []
        drawn: list[int] = []
        for tracked in rows:
            issue = issues.get(tracked.issue_id)
            report.checked += 1
            if issue is None or card_revision(issue) == tracked.rendered:
                unchanged.append(tracked.id)
            else:
                drawn.append(tracked.id)
        for row in await self._cards.rows(drawn):
            if await self._draw(row, issues[row.issue_id], now):
                report.updated += 1
        await self._cards.mark_checked(unchanged, now=now)
        report.replies = await self.deliver_replies(issues)
        await self._notice_comments(rows, states)
        report.unfurls = await self._settle_unfurls(shown, issues)
        return report

    # Unfurled cards: compared in the same batch, redrawn by `bot.unfurls.live`. -----------------

    async def _unfurls_due(self) -> Sequence[TrackedUnfurl]:
        if self._unfurls is None:
            return []
        try:
            return await self._unfurls.due()
        except Exception:
            logger.exception("could not read the unfurled cards to keep current")
            return []

    def _unfurls_changed(
        self,
        shown: Sequence[TrackedUnfurl],
        states: Mapping[str, Issue | IssueState],
        issues: Mapping[str, Issue],
    ) -> set[str]:
        if self._unfurls is None or not shown:
            return set()
        return self._unfurls.changed(shown, states) - issues.keys()

    async def _settle_unfurls(
        self, shown: Sequence[TrackedUnfurl], issues: Mapping[str, Issue]
    ) -> int:
        if self._unfurls is None or not shown:
            return 0
        try:
            return await self._unfurls.settle(shown, issues)
        except Exception:
            logger.exception("could not redraw the unfurled cards of %d issues", len(issues))
            return 0

    async def follows(self, issue_id: str) -> bool:
        """Whether the issue has a card kept current: posted as a card, or unfurled."""
        if any(row.shown_as_card for row in await self._cards.for_issue(issue_id)):
            return True
        return self._unfurls is not None and await self._unfurls.follows(issue_id)

    async def _notice_comments(
        self, rows: list[TrackedCard], states: Mapping[str, Issue | IssueState]
    ) -> None:
        """Hand the comment watch each compared card's comment count (no request of its own)."""
        if self._comments is None:
            return
        observed = {
            r.id: (r.issue_id, state.num_comments)
            for r in rows
            if (state := states.get(r.issue_id)) is not None
        }
        try:
            await self._comments.notice(observed)
        except Exception:
            logger.exception("could not follow the comments of %d cards", len(observed))

    async def redraw(self, issue: Issue) -> int:
        """Redraw the issue's cards now, told by Sentry that it changed (a webhook): as in a
        cycle, a card already showing this state is left alone and an issue that came back
        gets its thread reply. How many cards were redrawn."""
        now = self._clock()
        redrawn = 0
        for row in await self._cards.for_issue(issue.id):
            if not row.shown_as_card or row.rendered == card_revision(issue):
                continue
            if await self._draw(row, issue, now):
                redrawn += 1
        if redrawn:
            await self.deliver_replies({issue.id: issue})
        await self._updater.redraw_unfurls(issue)
        return redrawn

    async def _draw(self, row: CardRow, issue: Issue, now: datetime) -> bool:
        """Replace one card with the issue's state; owe a thread reply if it came back."""
        kind = comeback(row.status, row.substatus, issue)
        if not await self._updater.render(row, issue, record=kind is None):
            return False
        if kind is not None:
            await self._replies.record_comeback(
                row,
                kind=kind,
                rendered=card_revision(issue),
                status=issue.status,
                substatus=issue.substatus,
                now=now,
            )
        return True

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
