"""The card ledger: exactly one card per (channel, issue), across crashes and replicas.

Life of a row: `owed` (an issue this channel must be told about) -> `posting`
(claimed by one delivery; the Slack post may be in flight) -> `posted` (its
message `ts` is known). The unique (channel, issue) key makes enqueueing
idempotent; the owed->posting update is the claim, so two deliveries never post
the same row; a row left in `posting` by a crash is settled by reconciliation
against the channel's history (the card carries the issue id in its metadata).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import cards

OWED, POSTING, POSTED = "owed", "posting", "posted"


@dataclass(frozen=True, slots=True)
class NewCard:
    channel: str
    issue_id: str
    route_id: int | None
    project: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class CardRow:
    id: int
    channel: str
    issue_id: str
    route_id: int | None
    project: str
    first_seen: datetime
    state: str
    kind: str
    message_ts: str | None
    claim_token: str | None
    claimed_at: datetime | None
    posted_at: datetime | None
    attempts: int
    rendered: str | None
    status: str | None
    substatus: str | None
    last_action: str | None
    checked_at: datetime | None


def _row(row: sa.Row[tuple[object, ...]]) -> CardRow:
    m = row._mapping
    return CardRow(**{name: m[name] for name in CardRow.__dataclass_fields__})


class CardStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _insert_ignoring_duplicates(self) -> sa.Insert:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(cards).on_conflict_do_nothing(
                index_elements=["channel", "issue_id"]
            )
        return sqlite.insert(cards).on_conflict_do_nothing(index_elements=["channel", "issue_id"])

    async def enqueue(self, entries: Sequence[NewCard]) -> int:
        """Record that these issues are owed to their channels; duplicates are ignored."""
        if not entries:
            return 0
        values = [
            {
                "channel": e.channel,
                "issue_id": e.issue_id,
                "route_id": e.route_id,
                "project": e.project,
                "first_seen": e.first_seen,
                "state": OWED,
            }
            for e in entries
        ]
        # RETURNING counts what was inserted on every backend; executemany rowcounts do not.
        async with self._engine.begin() as conn:
            result = await conn.execute(
                self._insert_ignoring_duplicates().returning(cards.c.id), values
            )
            return len(result.all())

    async def known(self, channel: str, issue_ids: Iterable[str]) -> set[str]:
        ids = list(issue_ids)
        if not ids:
            return set()
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(cards.c.issue_id).where(
                    cards.c.channel == channel, cards.c.issue_id.in_(ids)
                )
            )
            return {r.issue_id for r in rows}

    async def owed(self) -> list[CardRow]:
        """Every owed row, oldest issue first (the order cards are delivered in)."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(cards)
                .where(cards.c.state == OWED)
                .order_by(cards.c.first_seen, cards.c.id)
            )
            return [_row(r) for r in rows]

    async def claim(self, ids: Sequence[int], *, token: str, now: datetime) -> set[int]:
        """Move owed rows to posting for this delivery; returns the ids actually claimed."""
        if not ids:
            return set()
        async with self._engine.begin() as conn:
            rows = await conn.execute(
                sa.update(cards)
                .where(cards.c.id.in_(list(ids)), cards.c.state == OWED)
                .values(state=POSTING, claim_token=token, claimed_at=now)
                .returning(cards.c.id)
            )
            return {r.id for r in rows}

    async def mark_posted(
        self,
        ids: Sequence[int],
        *,
        ts: str,
        kind: str,
        now: datetime,
        rendered: str | None = None,
        status: str | None = None,
        substatus: str | None = None,
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards)
                .where(cards.c.id.in_(list(ids)))
                .values(
                    state=POSTED,
                    message_ts=ts,
                    kind=kind,
                    posted_at=now,
                    rendered=rendered,
                    status=status,
                    substatus=substatus,
                    last_error=None,
                )
            )

    async def settle_gone(self, ids: Sequence[int], *, now: datetime) -> None:
        """Owed rows whose issue no longer exists: closed without a message."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards)
                .where(cards.c.id.in_(list(ids)), cards.c.state == OWED)
                .values(state=POSTED, kind="gone", posted_at=now)
            )

    async def release(self, ids: Sequence[int], *, error: str) -> None:
        """A post that certainly did not happen: the rows are owed again."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards)
                .where(cards.c.id.in_(list(ids)), cards.c.state == POSTING)
                .values(
                    state=OWED,
                    claim_token=None,
                    claimed_at=None,
                    attempts=cards.c.attempts + 1,
                    last_error=error[:200],
                )
            )

    async def in_flight(self, *, claimed_before: datetime | None = None) -> list[CardRow]:
        """Rows left in `posting`, optionally only those claimed before a moment."""
        query = sa.select(cards).where(cards.c.state == POSTING)
        if claimed_before is not None:
            query = query.where(cards.c.claimed_at < claimed_before)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(cards.c.first_seen, cards.c.id))
            return [_row(r) for r in rows]

    async def for_issue(self, issue_id: str) -> list[CardRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(cards).where(cards.c.issue_id == issue_id).order_by(cards.c.id)
            )
            return [_row(r) for r in rows]

    async def tracked(self, *, posted_since: datetime, limit: int) -> list[CardRow]:
        """Posted cards young enough to keep current, least recently checked first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(cards)
                .where(
                    cards.c.state == POSTED,
                    cards.c.kind == "card",
                    cards.c.posted_at >= posted_since,
                )
                .order_by(cards.c.checked_at.is_not(None), cards.c.checked_at, cards.c.id)
                .limit(limit)
            )
            return [_row(r) for r in rows]

    async def count_tracked(self, *, posted_since: datetime) -> int:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(sa.func.count())
                .select_from(cards)
                .where(
                    cards.c.state == POSTED,
                    cards.c.kind == "card",
                    cards.c.posted_at >= posted_since,
                )
            )
            return int(result.scalar_one())

    async def mark_checked(self, ids: Sequence[int], *, now: datetime) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards).where(cards.c.id.in_(list(ids))).values(checked_at=now)
            )

    async def set_rendered(
        self,
        card_id: int,
        *,
        rendered: str,
        status: str,
        substatus: str | None,
        now: datetime,
        last_action: str | None = None,
    ) -> None:
        """Record what a card now shows (and, when given, the last triage action line)."""
        values: dict[str, object] = {
            "rendered": rendered,
            "status": status,
            "substatus": substatus,
            "checked_at": now,
        }
        if last_action is not None:
            values["last_action"] = last_action
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(cards).where(cards.c.id == card_id).values(**values))

    async def count(self, *, state: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(cards)
        if state is not None:
            query = query.where(cards.c.state == state)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
