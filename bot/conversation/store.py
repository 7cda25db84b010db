"""What the app knows of the conversation with Sentry: per-card comment watermarks, Sentry
comments owed to card threads, and the comments the app wrote itself.

A comment is owed to a card's thread in the outbox (key `comment:<card>.<comment>`, threaded
under the card's message) in the same transaction that moves the card's watermark past it,
so a comment is neither lost nor relayed twice: two processes that see it at once insert the
same outbox key, which the outbox keeps once, and the outbox's claim posts it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.outbox import store as outbox_store
from bot.outbox.store import OWED, Entry, OutboxRow, post_of, with_post
from bot.store.schema import cards, comment_marks, comment_relays, outbox, own_comments

PRODUCER = "comment"
AUTHOR_MAX = 200


def comment_key(card_id: int, comment_id: int) -> str:
    """The outbox key of one Sentry comment in one card's thread."""
    return f"comment:{card_id}.{comment_id}"


@dataclass(frozen=True, slots=True)
class Mark:
    """How far a card has followed its issue's comments."""

    card_id: int
    num_comments: int
    last_comment_id: int | None


@dataclass(frozen=True, slots=True)
class Relay:
    """A Sentry comment for one card's thread: who wrote it and what it says."""

    comment_id: int
    author: str
    body: str


@dataclass(frozen=True, slots=True)
class RelayRow:
    id: int
    card_id: int
    comment_id: int
    issue_id: str
    author: str
    body: str
    created_at: datetime
    post: OutboxRow


_RELAY_FIELDS = tuple(name for name in RelayRow.__dataclass_fields__ if name != "post")
_JOINED = with_post(comment_relays, _RELAY_FIELDS)


def _insert_ignoring(conn: AsyncConnection, table: sa.Table, keys: list[str]) -> sa.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def thread_issue_query(channel: str, thread_ts: str) -> sa.Select[tuple[str]]:
    """The issue of the card posted as `thread_ts` in `channel` (found through the outbox's
    `message_ts` index)."""
    return (
        sa.select(cards.c.issue_id)
        .select_from(cards.join(outbox, cards.c.outbox_id == outbox.c.id))
        .where(
            outbox.c.channel == channel,
            outbox.c.message_ts == thread_ts,
            outbox.c.posted_as == "card",
        )
        .limit(1)
    )


class CommentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def marks(self, card_ids: Iterable[int]) -> dict[int, Mark]:
        ids = list(card_ids)
        if not ids:
            return {}
        found: dict[int, Mark] = {}
        async with self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = await conn.execute(
                    sa.select(comment_marks).where(
                        comment_marks.c.card_id.in_(ids[start : start + 500])
                    )
                )
                for r in rows:
                    found[r.card_id] = Mark(r.card_id, r.num_comments, r.last_comment_id)
        return found

    async def start_marks(self, card_ids: Sequence[int]) -> None:
        """Cards whose issue has no comment yet: followed from zero (kept if already marked)."""
        if not card_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                _insert_ignoring(conn, comment_marks, ["card_id"]),
                [{"card_id": i, "num_comments": 0, "last_comment_id": None} for i in card_ids],
            )

    async def lower_counts(self, counts: dict[int, int]) -> None:
        """Comments were deleted in Sentry: the next one must still count as new."""
        if not counts:
            return
        async with self._engine.begin() as conn:
            for card_id, count in counts.items():
                await conn.execute(
                    sa.update(comment_marks)
                    .where(comment_marks.c.card_id == card_id)
                    .values(num_comments=count)
                )

    async def relay(
        self,
        *,
        card_id: int,
        channel: str,
        thread_ts: str,
        issue_id: str,
        comments: Sequence[Relay],
        num_comments: int,
        last_comment_id: int | None,
        now: datetime,
    ) -> int:
        """Owe these comments to the card's thread and move its watermark, atomically; how
        many were newly owed."""
        async with self._engine.begin() as conn:
            added: dict[tuple[str, str], int] = {}
            if comments:
                entries = [
                    Entry(
                        channel,
                        comment_key(card_id, c.comment_id),
                        PRODUCER,
                        due_at=now,
                        thread_ts=thread_ts,
                    )
                    for c in comments
                ]
                added = await outbox_store.add(conn, entries)
                fresh = [
                    c for c in comments if (channel, comment_key(card_id, c.comment_id)) in added
                ]
                if fresh:
                    await conn.execute(
                        _insert_ignoring(conn, comment_relays, ["card_id", "comment_id"]),
                        [
                            {
                                "card_id": card_id,
                                "comment_id": c.comment_id,
                                "issue_id": issue_id,
                                "author": c.author[:AUTHOR_MAX],
                                "body": c.body,
                                "created_at": now,
                                "outbox_id": added[(channel, comment_key(card_id, c.comment_id))],
                            }
                            for c in fresh
                        ],
                    )
            values = {"num_comments": num_comments, "last_comment_id": last_comment_id}
            if conn.dialect.name == "postgresql":
                upsert = postgresql.insert(comment_marks).values(card_id=card_id, **values)
                await conn.execute(
                    upsert.on_conflict_do_update(index_elements=["card_id"], set_=values)
                )
            else:
                lite = sqlite.insert(comment_marks).values(card_id=card_id, **values)
                await conn.execute(
                    lite.on_conflict_do_update(index_elements=["card_id"], set_=values)
                )
            return len(added)

    async def owed(self) -> list[RelayRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                _JOINED.where(outbox.c.state == OWED).order_by(
                    outbox.c.due_at, comment_relays.c.comment_id
                )
            )
            return [
                RelayRow(**{n: r._mapping[n] for n in _RELAY_FIELDS}, post=post_of(r)) for r in rows
            ]

    async def for_card(self, card_id: int) -> list[RelayRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                _JOINED.where(comment_relays.c.card_id == card_id).order_by(
                    comment_relays.c.comment_id
                )
            )
            return [
                RelayRow(**{n: r._mapping[n] for n in _RELAY_FIELDS}, post=post_of(r)) for r in rows
            ]

    async def issue_of_thread(self, channel: str, thread_ts: str) -> str | None:
        """The issue of the card whose message starts this thread (or is this message)."""
        async with self._engine.connect() as conn:
            found = (await conn.execute(thread_issue_query(channel, thread_ts))).scalar()
        return str(found) if found is not None else None

    async def record_own(
        self, *, comment_id: int, issue_id: str, author_id: str | None, now: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                _insert_ignoring(conn, own_comments, ["comment_id"]),
                [
                    {
                        "comment_id": comment_id,
                        "issue_id": issue_id,
                        "author_id": author_id,
                        "created_at": now,
                    }
                ],
            )

    async def own(self, issue_id: str) -> tuple[set[int], set[str]]:
        """The ids of the app's own comments on this issue, and every author id the app's
        comments were written as (the integration's user)."""
        async with self._engine.connect() as conn:
            ids = {
                r.comment_id
                for r in await conn.execute(
                    sa.select(own_comments.c.comment_id).where(own_comments.c.issue_id == issue_id)
                )
            }
            authors = {
                r.author_id
                for r in await conn.execute(
                    sa.select(own_comments.c.author_id)
                    .where(own_comments.c.author_id.is_not(None))
                    .distinct()
                )
            }
        return ids, authors
