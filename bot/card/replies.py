"""Replies in a card's thread (regressions, escalations): one per (card, sequence), posted once.

A comeback is recorded, and its reply owed in the outbox (key `reply:<card>.<seq>`, threaded
under the card's message), in the same transaction that records the card's new status, so it
is neither lost nor detected twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card.state import reply_key
from bot.card.store import CardRow
from bot.outbox import store as outbox_store
from bot.outbox.store import OWED, Entry, OutboxRow, post_of, with_post
from bot.store.schema import cards, outbox, replies

PRODUCER = "reply"


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    card_id: int
    seq: int
    channel: str
    issue_id: str
    kind: str
    created_at: datetime
    post: OutboxRow


_REPLY_FIELDS = tuple(name for name in ReplyRow.__dataclass_fields__ if name != "post")
_JOINED = with_post(replies, _REPLY_FIELDS)


def _row(row: sa.Row[tuple[object, ...]]) -> ReplyRow:
    return ReplyRow(**{name: row._mapping[name] for name in _REPLY_FIELDS}, post=post_of(row))


class ReplyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_comeback(
        self,
        card: CardRow,
        *,
        kind: str,
        rendered: str,
        status: str,
        substatus: str | None,
        now: datetime,
    ) -> bool:
        """Record the card's new state and owe one reply in its thread for it, atomically;
        False (nothing done) when the card no longer shows what `card` was read with, because
        another process (the poll's refresh, a replica acting on a webhook) recorded the same
        comeback first: one reply per comeback, however many notice it."""
        assert card.message_ts is not None
        async with self._engine.begin() as conn:
            moved = await conn.execute(
                sa.update(cards)
                .where(
                    cards.c.id == card.id,
                    cards.c.status.is_not_distinct_from(card.status),
                    cards.c.substatus.is_not_distinct_from(card.substatus),
                )
                .values(rendered=rendered, status=status, substatus=substatus, checked_at=now)
            )
            if not moved.rowcount:
                return False
            seq = 1 + int(
                (
                    await conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(replies.c.seq), 0)).where(
                            replies.c.card_id == card.id
                        )
                    )
                ).scalar_one()
            )
            entry = Entry(
                card.channel,
                reply_key(card.id, seq),
                PRODUCER,
                due_at=now,
                thread_ts=card.message_ts,
            )
            added = await outbox_store.add(conn, [entry])
            await conn.execute(
                sa.insert(replies).values(
                    card_id=card.id,
                    seq=seq,
                    channel=card.channel,
                    issue_id=card.issue_id,
                    kind=kind,
                    created_at=now,
                    outbox_id=added[(entry.channel, entry.key)],
                )
            )
            return True

    async def owed(self) -> list[ReplyRow]:
        return await self._select(
            _JOINED.where(outbox.c.state == OWED).order_by(outbox.c.due_at, replies.c.id)
        )

    async def for_card(self, card_id: int) -> list[ReplyRow]:
        return await self._select(
            _JOINED.where(replies.c.card_id == card_id).order_by(replies.c.seq)
        )

    async def _select(self, query: sa.Select[tuple[object, ...]]) -> list[ReplyRow]:
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]
