"""Sentry comments reach the threads of the issue's cards, once each, never the app's own.

Two ways in, one path: the card refresh hands `notice` the `numComments` it already read for a
batch of cards (no request of its own when nothing changed), and the comment webhook calls
`sync_issue`. Either reads the issue's comments (`GET …/issues/<id>/comments/`, newest first,
one page of 100) and, per card, owes each comment newer than the card's watermark to its
thread, through the outbox (`bot/conversation/store.py`).

Which comments are relayed:

* written after the card was posted (a card shows up with the conversation from then on);
* not the app's own: a comment whose id the app recorded when Sentry answered its POST, whose
  author is the user the app's comments were written as (the integration's user), or whose
  text this process is writing on the issue at that moment (its answer not yet recorded);
* to tracked cards only (posted as cards within the retention window), like the refresh;
* once: edits and deletions in Sentry are not followed (a reply already in Slack stays as it
  was; a deleted comment lowers the count so the next new one is still noticed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from bot.card.store import CardRow, CardStore
from bot.conversation.notes import CommentWriter
from bot.conversation.store import PRODUCER, CommentStore, Relay, RelayRow
from bot.metrics import Metrics
from bot.outbox.delivery import Draft, Outbox, drawn
from bot.outbox.store import OutboxRow
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.ids import IssueId
from bot.sentry.models import Comment
from bot.slack.comments import build_comment_reply
from bot.slack.notifier import Posted, Refused

logger = logging.getLogger(__name__)


def describe_comment(row: OutboxRow) -> str:
    card_id, _, comment_id = row.key.removeprefix("comment:").partition(".")
    return f"comment {comment_id} in card {card_id}'s thread"


# Owed replies are tried again (and posts other processes abandoned settled) at least this
# often while no new comment is owed; at once when one is.
REDELIVER_EVERY: Final = timedelta(seconds=30)
# Cards remembered at most (about 100 bytes each); more tracked cards than this start over.
MAX_AGREED: Final = 50_000


class CommentSync:
    """The use case behind both the refresh and the comment webhook (`CommentSink`)."""

    def __init__(
        self,
        *,
        sentry: SentryClient,
        cards: CardStore,
        store: CommentStore,
        writer: CommentWriter,
        outbox: Outbox,
        metrics: Metrics,
        clock: Callable[[], datetime],
        retention: timedelta,
    ) -> None:
        self._sentry = sentry
        self._cards = cards
        self._store = store
        self._writer = writer
        self._retention = retention
        self._outbox = outbox
        self._metrics = metrics
        self._clock = clock
        # The refresh runs on the poll leader: its first run settles every interrupted post
        # (a process that held one is gone), like the cards' delivery at start.
        self._settled_at_start = False
        # Card id -> the comment count its mark was last seen to hold: a card compared again
        # with the same count needs no database work (the leader's steady state). Bounded by
        # MAX_AGREED; cards no longer tracked go when it is reached and the map starts over.
        self._agreed: dict[int, int] = {}
        self._delivered_at: datetime | None = None

    async def comment_created(self, issue_id: str) -> None:
        """The comment webhook's entry point: read the issue's comments and relay new ones."""
        await self.sync_issue(issue_id)
        await self.deliver()

    async def notice(self, observed: Mapping[int, tuple[str, int]]) -> int:
        """Cards (id -> (issue id, Sentry's `numComments`)) the refresh just compared: issues
        whose count grew past a card's mark are synced; how many comments were newly owed."""
        if len(self._agreed) > MAX_AGREED:
            self._agreed.clear()
        fresh = {
            card_id: seen
            for card_id, seen in observed.items()
            if self._agreed.get(card_id) != seen[1]
        }
        owed = 0
        if fresh:
            owed = await self._notice(fresh)
        now = self._clock()
        if (
            owed
            or not self._settled_at_start
            or self._delivered_at is None
            or now - self._delivered_at >= REDELIVER_EVERY
        ):
            await self.deliver(settle_all=not self._settled_at_start)
            self._settled_at_start = True
            self._delivered_at = now
        return owed

    async def _notice(self, observed: Mapping[int, tuple[str, int]]) -> int:
        marks = await self._store.marks(observed)
        start: list[int] = []
        lower: dict[int, int] = {}
        grown: dict[str, int] = {}
        for card_id, (issue_id, count) in observed.items():
            mark = marks.get(card_id)
            if mark is None and count == 0:
                start.append(card_id)
            elif mark is None or count > mark.num_comments:
                grown[issue_id] = count
                continue  # agreed once its comments are read (a failed read is tried again)
            elif count < mark.num_comments:
                lower[card_id] = count
            self._agreed[card_id] = count
        await self._store.start_marks(start)
        await self._store.lower_counts(lower)
        owed = 0
        for issue_id, count in sorted(grown.items()):
            owed += await self.sync_issue(issue_id, num_comments=count)
        return owed

    async def sync_issue(self, issue_id: str, *, num_comments: int | None = None) -> int:
        """Owe the issue's new comments to each of its cards' threads; how many were owed.
        Does not post (see `deliver`)."""
        parsed = IssueId.parse(issue_id)
        if parsed is None:
            return 0
        since = self._clock() - self._retention
        cards = [
            c
            for c in await self._cards.for_issue(parsed)
            if c.shown_as_card and c.post.posted_at is not None and c.post.posted_at >= since
        ]
        if not cards:
            return 0
        try:
            page = await self._sentry.list_comments(parsed)
        except SentryError as exc:
            logger.warning("cannot read the comments of issue %s: %s", parsed, exc)
            self._metrics.comments.labels("read_failed").inc()
            return 0
        if num_comments is None and page.next_cursor is None:
            num_comments = len(page.items) + len(page.skipped)
        own_ids, own_authors = await self._store.own(parsed)
        writing = self._writer.writing(parsed)
        marks = await self._store.marks(c.id for c in cards)
        newest = max((c.id for c in page.items), default=None)
        owed = 0
        for card in cards:
            mark = marks.get(card.id)
            floor = mark.last_comment_id if mark is not None else None
            fresh = [
                c
                for c in sorted(page.items, key=lambda c: c.id)
                if _is_new(c, card, floor)
                and not _is_own(c, own_ids, own_authors)
                and c.text.strip() not in writing
            ]
            count = num_comments
            if count is None:
                count = mark.num_comments if mark is not None else 0
            assert card.message_ts is not None
            owed += await self._store.relay(
                card_id=card.id,
                channel=card.channel,
                thread_ts=card.message_ts,
                issue_id=parsed,
                comments=[
                    Relay(c.id, c.author_name or c.author_email or "Someone", c.text) for c in fresh
                ],
                num_comments=count,
                last_comment_id=max(floor or 0, newest or 0) or None,
                now=self._clock(),
            )
        if owed:
            self._metrics.comments.labels("relayed").inc(owed)
        return owed

    async def deliver(self, *, settle_all: bool = False) -> int:
        """Post owed comment replies; settle interrupted ones from their threads first (all of
        them with `settle_all`, else those another process abandoned long enough ago)."""
        await self._outbox.reconcile(
            producer=PRODUCER,
            claimed_before=None if settle_all else self._outbox.abandoned_before(),
            describe=describe_comment,
        )
        posted = 0
        for row in await self._store.owed():
            if self._outbox.limited_until(row.post.channel) is not None:
                continue
            outcome = await self._outbox.send(_draft(row))
            if isinstance(outcome, Posted):
                posted += 1
            elif isinstance(outcome, Refused) and outcome.retry_after is None:
                logger.error(
                    "Slack refused a Sentry comment in %s (%s): %s",
                    row.post.channel,
                    outcome.error,
                    outcome.fix,
                )
        return posted


def _draft(row: RelayRow) -> Draft:
    return Draft(
        kind="comment",
        rows=[row.post],
        render=drawn(partial(build_comment_reply, author=row.author, text=row.body)),
        thread_ts=row.post.thread_ts,
        about={"issue_id": row.issue_id},
    )


def _is_new(comment: Comment, card: CardRow, floor: int | None) -> bool:
    """After the card's watermark; without one, written since the bot set out to post the card
    (its claim, not the moment Slack's answer was recorded: a comment written while the post
    was on its way is already the card's)."""
    if floor is not None:
        return comment.id > floor
    started = card.post.claimed_at or card.post.posted_at
    return started is None or comment.created >= started


def _is_own(comment: Comment, own_ids: set[int], own_authors: set[str]) -> bool:
    return comment.id in own_ids or (
        comment.author_id is not None and comment.author_id in own_authors
    )
