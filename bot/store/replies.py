"""Threaded replies under cards (regressions, escalations), posted exactly once.

A comeback is recorded in the same transaction that records the card's new
status, so it is neither lost nor detected twice; delivery then follows the card
ledger's pattern: owed -> posting (claimed) -> posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.cards import OWED, POSTED, POSTING
from bot.store.schema import cards, replies


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    card_id: int
    seq: int
    channel: str
    issue_id: str
    kind: str
    state: str
    message_ts: str | None
    claimed_at: datetime | None
    created_at: datetime


def _row(row: sa.Row[tuple[object, ...]]) -> ReplyRow:
    m = row._mapping
    return ReplyRow(**{name: m[name] for name in ReplyRow.__dataclass_fields__})


class ReplyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_comeback(
        self,
        *,
        card_id: int,
        channel: str,
        issue_id: str,
        kind: str,
        rendered: str,
        status: str,
        substatus: str | None,
        now: datetime,
    ) -> None:
        """Record the card's new state and owe one reply for it, atomically."""
        async with self._engine.begin() as conn:
            seq = (
                await conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(replies.c.seq), 0)).where(
                        replies.c.card_id == card_id
                    )
                )
            ).scalar_one()
            await conn.execute(
                sa.insert(replies).values(
                    card_id=card_id,
                    seq=int(seq) + 1,
                    channel=channel,
                    issue_id=issue_id,
                    kind=kind,
                    state=OWED,
                    created_at=now,
                )
            )
            await conn.execute(
                sa.update(cards)
                .where(cards.c.id == card_id)
                .values(rendered=rendered, status=status, substatus=substatus, checked_at=now)
            )

    async def owed(self) -> list[ReplyRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(replies).where(replies.c.state == OWED).order_by(replies.c.id)
            )
            return [_row(r) for r in rows]

    async def in_flight(self, *, claimed_before: datetime | None) -> list[ReplyRow]:
        query = sa.select(replies).where(replies.c.state == POSTING)
        if claimed_before is not None:
            query = query.where(replies.c.claimed_at < claimed_before)
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query.order_by(replies.c.id))]

    async def claim(self, reply_id: int, *, token: str, now: datetime) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(replies)
                .where(replies.c.id == reply_id, replies.c.state == OWED)
                .values(state=POSTING, claim_token=token, claimed_at=now)
            )
            return bool(result.rowcount)

    async def mark_posted(self, reply_id: int, *, ts: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(replies)
                .where(replies.c.id == reply_id)
                .values(state=POSTED, message_ts=ts, posted_at=now)
            )

    async def release(self, reply_ids: Sequence[int]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(replies)
                .where(replies.c.id.in_(list(reply_ids)), replies.c.state == POSTING)
                .values(state=OWED, claim_token=None, claimed_at=None)
            )

    async def for_card(self, card_id: int) -> list[ReplyRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(replies).where(replies.c.card_id == card_id).order_by(replies.c.seq)
            )
            return [_row(r) for r in rows]
