"""The durable queue of accepted webhook deliveries: bounded, coalescing, claimable by any
replica.

One row per (kind, issue): a retried or replayed delivery, or several changes to one issue,
add nothing but a flag and a sequence number, so the queue's size is bounded by the issues it
is about and `capacity` bounds it outright. A worker claims due rows for a while
(`claimed_until`); a row is deleted when done, unless a delivery arrived meanwhile (its `seq`
moved), in which case it is released to run again. A row whose work failed is tried again
later with backoff, and given up (polling covers it) after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.sentry.ids import IssueId
from bot.store.schema import webhook_jobs
from bot.webhooks.hooks import Hint, Kind

DEFAULT_CAPACITY: Final = 5_000
MAX_ATTEMPTS: Final = 5
# Wait before the n-th retry of a row whose work failed (Sentry or Slack unreachable).
BACKOFF: Final = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=5),
)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed row: what to do for which issue, and the claim that must be held to finish."""

    id: int
    kind: Kind
    issue_id: IssueId
    route: bool
    redraw: bool
    seq: int
    attempts: int
    received_at: datetime
    claim: str


class WebhookQueue:
    def __init__(self, engine: AsyncEngine, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self._engine = engine
        self.capacity = capacity

    async def put(self, hint: Hint, *, now: datetime) -> bool:
        """Queue the hint (merged into the issue's row if one waits); False when the queue is
        full and the issue has no row to merge into."""
        t = webhook_jobs
        async with self._engine.begin() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
            if int(count) >= self.capacity:
                merged = await conn.execute(
                    sa.update(t)
                    .where(t.c.kind == hint.kind, t.c.issue_id == hint.issue_id)
                    .values(
                        **_again(now),
                        route=sa.or_(t.c.route, sa.literal(hint.route)),
                        redraw=sa.or_(t.c.redraw, sa.literal(hint.redraw)),
                    )
                )
                return bool(merged.rowcount)
            insert = _insert(conn).values(
                kind=hint.kind,
                issue_id=hint.issue_id,
                route=hint.route,
                redraw=hint.redraw,
                seq=1,
                attempts=0,
                received_at=now,
                due_at=now,
            )
            excluded = insert.excluded
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["kind", "issue_id"],
                    set_={
                        **_again(now),
                        "route": sa.or_(t.c.route, excluded.route),
                        "redraw": sa.or_(t.c.redraw, excluded.redraw),
                    },
                )
            )
            return True

    async def claim(self, *, now: datetime, limit: int, hold: timedelta) -> list[Job]:
        """Up to `limit` due rows nobody holds, oldest first, held by this call until
        `now + hold`."""
        t = webhook_jobs
        token = uuid.uuid4().hex
        free = sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < now)
        due = sa.select(t.c.id).where(t.c.due_at <= now, free).order_by(t.c.id).limit(limit)
        # An idle queue is looked at every few seconds by every replica: a read, not a write.
        async with self._engine.connect() as conn:
            if (await conn.execute(due.limit(1))).first() is None:
                return []
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = await conn.execute(
                sa.update(t)
                .where(t.c.id.in_(due.scalar_subquery()), free)
                .values(claimed_by=token, claimed_until=now + hold)
                .returning(
                    t.c.id,
                    t.c.kind,
                    t.c.issue_id,
                    t.c.route,
                    t.c.redraw,
                    t.c.seq,
                    t.c.attempts,
                    t.c.received_at,
                )
            )
            found = rows.all()
        jobs = [
            Job(
                id=r.id,
                kind="comment" if r.kind == "comment" else "issue",
                issue_id=IssueId(r.issue_id),
                route=bool(r.route),
                redraw=bool(r.redraw),
                seq=r.seq,
                attempts=r.attempts,
                received_at=r.received_at,
                claim=token,
            )
            for r in found
        ]
        return sorted(jobs, key=lambda j: j.id)

    async def done(self, jobs: Sequence[Job]) -> None:
        """Finished: deleted, or released to run again if a delivery came in meanwhile."""
        if not jobs:
            return
        t = webhook_jobs
        async with self._engine.begin() as conn:
            for job in jobs:
                mine = sa.and_(t.c.id == job.id, t.c.claimed_by == job.claim)
                gone = await conn.execute(sa.delete(t).where(mine, t.c.seq == job.seq))
                if not gone.rowcount:
                    await conn.execute(
                        sa.update(t).where(mine).values(claimed_by=None, claimed_until=None)
                    )

    async def later(self, jobs: Sequence[Job], *, at: datetime) -> None:
        """Run these again at `at` (counted as an attempt); one a delivery came in for since
        it was claimed is released to run now instead."""
        t = webhook_jobs
        async with self._engine.begin() as conn:
            for job in jobs:
                mine = sa.and_(t.c.id == job.id, t.c.claimed_by == job.claim)
                await conn.execute(
                    sa.update(t)
                    .where(mine, t.c.seq == job.seq)
                    .values(attempts=t.c.attempts + 1, due_at=at)
                )
                await conn.execute(
                    sa.update(t).where(mine).values(claimed_by=None, claimed_until=None)
                )

    async def failed(self, jobs: Sequence[Job], *, now: datetime) -> int:
        """The work failed: try again after a backoff, or give up after MAX_ATTEMPTS (how many
        were given up)."""
        t = webhook_jobs
        given_up = 0
        async with self._engine.begin() as conn:
            for job in jobs:
                mine = sa.and_(t.c.id == job.id, t.c.claimed_by == job.claim)
                if job.attempts + 1 >= MAX_ATTEMPTS:
                    await conn.execute(sa.delete(t).where(mine))
                    given_up += 1
                    continue
                await conn.execute(
                    sa.update(t)
                    .where(mine)
                    .values(
                        attempts=t.c.attempts + 1,
                        due_at=now + BACKOFF[min(job.attempts, len(BACKOFF) - 1)],
                        claimed_by=None,
                        claimed_until=None,
                    )
                )
        return given_up

    async def pending(self) -> int:
        async with self._engine.connect() as conn:
            count = await conn.execute(sa.select(sa.func.count()).select_from(webhook_jobs))
            return int(count.scalar_one())


def _insert(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(webhook_jobs)
    return sqlite.insert(webhook_jobs)


def _again(now: datetime) -> dict[str, object]:
    """A new delivery for a waiting row: it runs again (`seq` moves on), and now."""
    return {"seq": webhook_jobs.c.seq + 1, "due_at": now}
