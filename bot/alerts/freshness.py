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
while Slack rate-limits its channel. The issues of cards
unfurled under people's messages (`UnfurlWatch`) are compared after the cards, reusing
the states the cards' requests read, and redrawn by `bot.unfurls.live` when they changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.alerts.walk import TrackedWalk
from bot.card.redraw import CardUpdater
from bot.card.replies import PRODUCER as REPLY_PRODUCER
from bot.card.replies import ReplyStore
from bot.card.state import comeback
from bot.card.state import revision as card_revision
from bot.card.store import CardRow, CardStore, TrackedCard
from bot.outbox.delivery import Draft, Outbox, drawn
from bot.outbox.store import OutboxRow
from bot.sentry.client import MAX_ISSUE_LIMIT, SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue, IssueState
from bot.slack.card import build_regression_reply
from bot.slack.notifier import Posted, Refused
from bot.unfurls.store import TrackedUnfurl

logger = logging.getLogger(__name__)

# Cards compared per Sentry request (the most the `group=` look-up takes).
CHUNK = MAX_ISSUE_LIMIT


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


def _comment_counts(
    rows: Sequence[TrackedCard], states: Mapping[str, Issue | IssueState]
) -> dict[int, tuple[str, int]]:
    """Card id -> (issue id, Sentry's `numComments`) for the compared cards."""
    return {
        r.id: (r.issue_id, state.num_comments)
        for r in rows
        if (state := states.get(r.issue_id)) is not None
    }


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
        self._walk = TrackedWalk(cards)

    async def refresh(self, known: Mapping[str, Issue]) -> FreshnessReport:
        """Compare a batch of tracked cards with Sentry; `known` issues need no request."""
        report = FreshnessReport()
        now = self._clock()
        since = now - self._retention
        rows = await self._walk.next(now=now, posted_since=since)
        shown = await self._unfurls_due()
        if not rows and not shown:
            return report
        # One Sentry request's worth of cards at a time: what a cycle holds in memory is
        # one answer, not the whole batch, however many cards are tracked. The states the
        # unfurled cards' issues need are kept as they pass.
        unfurled = {u.issue_id for u in shown}
        states: dict[str, Issue | IssueState] = {}
        drawn: dict[str, Issue] = {}
        counts: dict[int, tuple[str, int]] = {}
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            try:
                issues, read = await self._compare(chunk, known, report)
            except SentryError as exc:
                logger.warning("cannot refresh %d cards from Sentry: %s", len(rows) - start, exc)
                return report  # these cards are compared again next cycle, replies sent then
            self._walk.advance(chunk[-1].id)
            report.checked += len(chunk)
            report.updated += await self._redraw(chunk, issues, now)
            drawn.update(issues)
            states.update((i, state) for i, state in read.items() if i in unfurled)
            counts.update(_comment_counts(chunk, read))
        report.replies = await self.deliver_replies({**known, **drawn})
        await self._notice_comments(counts)
        if shown:
            report.unfurls = await self._refresh_unfurls(shown, {**known, **drawn}, states, report)
        return report

    async def _compare(
        self, rows: Sequence[TrackedCard], known: Mapping[str, Issue], report: FreshnessReport
    ) -> tuple[dict[str, Issue], dict[str, Issue | IssueState]]:
        """The issues of the cards among `rows` whose card no longer shows them as they are,
        and every state read (for the comment counts and the unfurled cards).

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
        differing = {
            r.issue_id: issue
            for r in rows
            if (issue := issues.get(r.issue_id)) is not None and _differs(issue, r)
        }
        return differing, states

    async def _redraw(
        self, rows: Sequence[TrackedCard], issues: Mapping[str, Issue], now: datetime
    ) -> int:
        """Redraw the cards whose issue changed; a comeback also owes a reply in the thread."""
        updated = 0
        drawn = [r.id for r in rows if r.issue_id in issues]
        for row in await self._cards.rows(drawn):
            if await self._draw(row, issues[row.issue_id], now):
                updated += 1
        return updated

    # Unfurled cards: compared in the same batch, redrawn by `bot.unfurls.live`. -----------------

    async def _unfurls_due(self) -> Sequence[TrackedUnfurl]:
        if self._unfurls is None:
            return []
        try:
            return await self._unfurls.due()
        except Exception:
            logger.exception("could not read the unfurled cards to keep current")
            return []

    async def _refresh_unfurls(
        self,
        shown: Sequence[TrackedUnfurl],
        known: Mapping[str, Issue],
        states: Mapping[str, Issue | IssueState],
        report: FreshnessReport,
    ) -> int:
        """Compare the unfurled cards' issues (states the cards' requests already read need no
        request of their own) and redraw the unfurls whose issue changed."""
        if self._unfurls is None:
            return 0
        issues = {u.issue_id: known[u.issue_id] for u in shown if u.issue_id in known}
        seen: dict[str, Issue | IssueState] = {**states, **issues}
        missing = sorted({u.issue_id for u in shown} - seen.keys())
        try:
            for start in range(0, len(missing), CHUNK):
                report.requests += 1
                part = missing[start : start + CHUNK]
                seen.update((s.id, s) for s in await self._sentry.get_issue_states(part))
            changed = sorted(self._unfurls.changed(shown, seen) - issues.keys())
            for start in range(0, len(changed), CHUNK):
                report.requests += 1
                part = changed[start : start + CHUNK]
                issues.update((i.id, i) for i in await self._sentry.get_issues_by_ids(part))
        except SentryError as exc:
            logger.warning("cannot refresh %d unfurled cards from Sentry: %s", len(shown), exc)
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

    async def _notice_comments(self, counts: Mapping[int, tuple[str, int]]) -> None:
        """Hand the comment watch each compared card's comment count (no request of its own),
        once a cycle."""
        if self._comments is None or not counts:
            return
        try:
            await self._comments.notice(counts)
        except Exception:
            logger.exception("could not follow the comments of %d cards", len(counts))

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
