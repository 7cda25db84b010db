"""The outbox table: one row per message owed to a channel, whoever produces it.

Life of a row: `owed` (a producer recorded it; `add` ignores a key the channel already has)
-> `posting` (claimed by one process: the owed->posting update is the claim, so two
processes or replicas never post the same row) -> `posted` (its message `ts` is known, and
`posted_as` says which kind of message carried it). A post Slack refused is `owed` again
(`release`) or, for messages not worth retrying, `refused`; a row closed without a message
is `gone` (its subject no longer exists) or `skipped` (too late to be worth posting). A row
left in `posting` by a crash or a lost answer is settled from the channel history
(`bot/outbox/delivery.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.schema import outbox

OWED: Final = "owed"
POSTING: Final = "posting"
POSTED: Final = "posted"
REFUSED: Final = "refused"
SKIPPED: Final = "skipped"
GONE: Final = "gone"


@dataclass(frozen=True, slots=True)
class Entry:
    """Something a producer owes a channel: `key` is unique per channel; rows are posted in
    `due_at` order; `state` other than owed records a row closed at once (a skipped digest)."""

    channel: str
    key: str
    producer: str
    due_at: datetime
    thread_ts: str | None = None
    state: str = OWED


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    key: str
    producer: str
    state: str
    posted_as: str | None
    thread_ts: str | None
    message_ts: str | None
    claim_token: str | None
    claimed_at: datetime | None
    posted_at: datetime | None
    attempts: int
    last_error: str | None
    due_at: datetime


def outbox_row(row: sa.Row[tuple[object, ...]]) -> OutboxRow:
    m = row._mapping
    return OutboxRow(**{name: m[name] for name in OutboxRow.__dataclass_fields__})


def with_post(table: sa.Table, fields: Sequence[str]) -> sa.Select[tuple[object, ...]]:
    """A producer's rows (`fields` of `table`) with their outbox row, through `outbox_id`."""
    return sa.select(
        *(table.c[name] for name in fields), *(c.label(f"post_{c.name}") for c in outbox.c)
    ).select_from(table.join(outbox, table.c.outbox_id == outbox.c.id))


def post_of(row: sa.Row[tuple[object, ...]]) -> OutboxRow:
    """The outbox row in a row of `with_post`."""
    m = row._mapping
    return OutboxRow(**{name: m[f"post_{name}"] for name in OutboxRow.__dataclass_fields__})


def _insert_ignoring_duplicates(conn: AsyncConnection) -> sa.Insert:
    keys = ["channel", "key"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(outbox).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(outbox).on_conflict_do_nothing(index_elements=keys)


async def add(conn: AsyncConnection, entries: Sequence[Entry]) -> dict[tuple[str, str], int]:
    """Owe these entries, inside the producer's transaction; the ids of the rows inserted, by
    (channel, key) (a key its channel already has is left as it is)."""
    if not entries:
        return {}
    values = [
        {
            "channel": e.channel,
            "key": e.key,
            "producer": e.producer,
            "state": e.state,
            "thread_ts": e.thread_ts,
            "due_at": e.due_at,
        }
        for e in entries
    ]
    # RETURNING says what was inserted on every backend; executemany rowcounts do not.
    result = await conn.execute(
        _insert_ignoring_duplicates(conn).returning(outbox.c.id, outbox.c.channel, outbox.c.key),
        values,
    )
    return {(r.channel, r.key): r.id for r in result}


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, entries: Sequence[Entry]) -> dict[tuple[str, str], int]:
        async with self._engine.begin() as conn:
            return await add(conn, entries)

    async def get(self, channel: str, key: str) -> OutboxRow | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(outbox).where(outbox.c.channel == channel, outbox.c.key == key)
                )
            ).first()
            return outbox_row(row) if row is not None else None

    async def claim(
        self, ids: Sequence[int], *, token: str, now: datetime, thread_ts: str | None = None
    ) -> set[int]:
        """Move owed rows to posting for this process; the ids actually claimed."""
        if not ids:
            return set()
        async with self._engine.begin() as conn:
            rows = await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.state == OWED)
                .values(state=POSTING, claim_token=token, claimed_at=now, thread_ts=thread_ts)
                .returning(outbox.c.id)
            )
            return {r.id for r in rows}

    async def mark_posted(
        self, ids: Sequence[int], *, ts: str, posted_as: str, now: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(list(ids)))
                .values(
                    state=POSTED, message_ts=ts, posted_as=posted_as, posted_at=now, last_error=None
                )
            )

    async def release(self, ids: Sequence[int], *, error: str) -> None:
        """A post that certainly did not happen: the rows are owed again."""
        await self._settle(ids, state=OWED, error=error)

    async def refuse(self, ids: Sequence[int], *, error: str) -> None:
        """A post Slack refused that is not worth retrying."""
        await self._settle(ids, state=REFUSED, error=error)

    async def _settle(self, ids: Sequence[int], *, state: str, error: str) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.state == POSTING)
                .values(
                    state=state,
                    claim_token=None,
                    claimed_at=None,
                    attempts=outbox.c.attempts + 1,
                    last_error=error[:200],
                )
            )

    async def close(self, ids: Sequence[int], *, state: str, now: datetime) -> None:
        """Owed rows that will never be posted (`gone`, `skipped`)."""
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.state == OWED)
                .values(state=state, posted_at=now)
            )

    async def in_flight(self, *, producer: str | None = None) -> list[OutboxRow]:
        """Rows left in `posting`, oldest first."""
        query = sa.select(outbox).where(outbox.c.state == POSTING)
        if producer is not None:
            query = query.where(outbox.c.producer == producer)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(outbox.c.due_at, outbox.c.id))
            return [outbox_row(r) for r in rows]

    async def count(self, *, producer: str | None = None, state: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(outbox)
        if producer is not None:
            query = query.where(outbox.c.producer == producer)
        if state is not None:
            query = query.where(outbox.c.state == state)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
