"""Digest runs: one post per (digest, period), across replicas, owed through the outbox.

A run row is keyed by (digest_id, period_end) and owes its post in the outbox (key
`digest:<id>@<period end>`, `bot/outbox/metadata.py`) in the same transaction, so of several
replicas whose schedulers fire at the same minute exactly one claims and posts it. A run's
state is its outbox row's: `owed` (recorded, or released after a post that certainly did not
happen), `posting`, `posted`, `skipped` (overdue by a whole period; logged once) or `refused`
(Slack refused the post; not retried, the next period covers the time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.outbox import store as outbox_store
from bot.outbox.metadata import digest_key
from bot.outbox.store import OWED, POSTED, SKIPPED, Entry, OutboxRow, post_of, with_post
from bot.sentry.models import format_time
from bot.store.digests import Digest
from bot.store.schema import digest_runs, outbox

PRODUCER: Final = "digest"


@dataclass(frozen=True, slots=True)
class DigestRun:
    """One period of a digest and its outbox row (`post`)."""

    id: int
    digest_id: int
    channel: str
    period_start: datetime
    period_end: datetime
    late: bool
    post: OutboxRow

    @property
    def state(self) -> str:
        return self.post.state

    @property
    def message_ts(self) -> str | None:
        return self.post.message_ts


def run_key(digest_id: int, period_end: datetime) -> str:
    """A run's outbox key (also what its message's metadata says, `bot/outbox/metadata.py`)."""
    return digest_key(digest_id, format_time(period_end))


_RUN_FIELDS = tuple(name for name in DigestRun.__dataclass_fields__ if name != "post")
_RUNS = with_post(digest_runs, _RUN_FIELDS)


def _run(row: sa.Row[tuple[object, ...]]) -> DigestRun:
    return DigestRun(**{name: row._mapping[name] for name in _RUN_FIELDS}, post=post_of(row))


class DigestRuns:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def owe_run(
        self,
        digest: Digest,
        *,
        period_start: datetime,
        period_end: datetime,
        late: bool,
        now: datetime,
    ) -> DigestRun | None:
        """The (digest, period) run, recorded and owed in the outbox unless it already is; None
        when it is no longer owed (posted, being posted, skipped or refused)."""
        async with self._engine.begin() as conn:
            added = await self._record(conn, digest, period_start, period_end, late, now, OWED)
            row = (
                await conn.execute(
                    _RUNS.where(
                        digest_runs.c.digest_id == digest.id,
                        digest_runs.c.period_end == period_end,
                    )
                )
            ).first()
        if row is None:
            return None
        run = _run(row)
        return run if added or run.state == OWED else None

    async def skip_run(self, digest: Digest, *, period_end: datetime, now: datetime) -> bool:
        """Record the period as skipped (too late to be worth posting), unless it is settled or
        being posted; True when this call skipped it."""
        async with self._engine.begin() as conn:
            if await self._record(conn, digest, period_end, period_end, True, now, SKIPPED):
                return True
            skipped = await conn.execute(
                sa.update(outbox)
                .where(
                    outbox.c.channel == digest.channel,
                    outbox.c.key == run_key(digest.id, period_end),
                    outbox.c.state == OWED,
                )
                .values(state=SKIPPED, posted_at=now)
                .returning(outbox.c.id)
            )
            return skipped.first() is not None

    async def _record(
        self,
        conn: AsyncConnection,
        digest: Digest,
        period_start: datetime,
        period_end: datetime,
        late: bool,
        now: datetime,
        state: str,
    ) -> bool:
        """Insert the run and its outbox row in `state`; False when the run already exists."""
        entry = Entry(
            digest.channel, run_key(digest.id, period_end), PRODUCER, due_at=now, state=state
        )
        added = await outbox_store.add(conn, [entry])
        if added:
            await conn.execute(
                sa.insert(digest_runs).values(
                    digest_id=digest.id,
                    channel=digest.channel,
                    period_start=period_start,
                    period_end=period_end,
                    late=late,
                    outbox_id=added[(entry.channel, entry.key)],
                )
            )
        return bool(added)

    async def has_run(self, digest_id: int, period_end: datetime) -> bool:
        """Whether the period is settled or being posted (an owed run is still to post)."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                _RUNS.where(
                    digest_runs.c.digest_id == digest_id,
                    digest_runs.c.period_end == period_end,
                    outbox.c.state != OWED,
                )
            )
            return found.first() is not None

    async def last_posted_end(self, digest_id: int) -> datetime | None:
        """The end of the latest period this digest posted (the next period starts there)."""
        async with self._engine.connect() as conn:
            value = await conn.execute(
                sa.select(sa.func.max(digest_runs.c.period_end))
                .select_from(digest_runs.join(outbox, digest_runs.c.outbox_id == outbox.c.id))
                .where(digest_runs.c.digest_id == digest_id, outbox.c.state == POSTED)
            )
            found = value.scalar()
            return found if isinstance(found, datetime) else None

    async def runs(self, digest_id: int | None = None) -> list[DigestRun]:
        query = _RUNS.order_by(digest_runs.c.period_end, digest_runs.c.id)
        if digest_id is not None:
            query = query.where(digest_runs.c.digest_id == digest_id)
        async with self._engine.connect() as conn:
            return [_run(r) for r in await conn.execute(query)]
