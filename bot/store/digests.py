"""Digest schedules and the digest-run ledger: one post per (digest, period), across replicas.

Schedules come from the routes file (`source = "file"`, replaced at every start) and from
`/sentry digest` (`source = "slack"`, at most one per channel). A run row is keyed by
(digest_id, period_end): inserting it is the claim, so of several replicas whose schedulers fire
at the same minute exactly one posts. Life of a run: `posting` (claimed; the Slack post may be in
flight) -> `posted` (message ts known), or `skipped` (overdue by a whole period; logged once),
or `failed` (Slack refused the post; not retried, the next period covers the time). A row left in
`posting` by a crash is settled against the channel's history by the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config_file import DigestSpec
from bot.store.schema import digest_runs, digests

POSTING, POSTED, SKIPPED, FAILED = "posting", "posted", "skipped", "failed"
FILE, SLACK = "file", "slack"


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest schedule; `projects=()` means the projects routed to the channel (or all)."""

    id: int
    channel: str
    cron: str
    timezone: str
    projects: tuple[str, ...]
    top: int
    source: str
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestRun:
    id: int
    digest_id: int
    channel: str
    period_start: datetime
    period_end: datetime
    state: str
    late: bool
    message_ts: str | None
    claim_token: str | None
    claimed_at: datetime | None
    posted_at: datetime | None


def _digest(row: sa.Row[tuple[object, ...]]) -> Digest:
    m = row._mapping
    return Digest(
        id=m["id"],
        channel=m["channel"],
        cron=m["cron"],
        timezone=m["timezone"],
        projects=tuple(p for p in m["projects"].split(",") if p),
        top=m["top"],
        source=m["source"],
        created_by=m["created_by"],
        created_at=m["created_at"],
    )


def _run(row: sa.Row[tuple[object, ...]]) -> DigestRun:
    m = row._mapping
    return DigestRun(**{name: m[name] for name in DigestRun.__dataclass_fields__})


async def _slack_made(conn: AsyncConnection, channel: str) -> list[int]:
    rows = await conn.execute(
        sa.select(digests.c.id).where(digests.c.channel == channel, digests.c.source == SLACK)
    )
    return [r.id for r in rows]


async def _delete(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Delete digests with their runs: SQLite reuses the highest rowid after a delete, and a
    new digest must not inherit another's ledger."""
    if ids:
        await conn.execute(sa.delete(digest_runs).where(digest_runs.c.digest_id.in_(list(ids))))
        await conn.execute(sa.delete(digests).where(digests.c.id.in_(list(ids))))


def _projects(values: Sequence[str]) -> str:
    return ",".join(sorted(set(values)))


class DigestStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # -- schedules ----------------------------------------------------------------------------

    async def all(self) -> list[Digest]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(digests).order_by(digests.c.id))
            return [_digest(r) for r in rows]

    async def get(self, digest_id: int) -> Digest | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(digests).where(digests.c.id == digest_id))).first()
            return _digest(row) if row is not None else None

    async def for_channel(self, channel: str) -> list[Digest]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(digests).where(digests.c.channel == channel).order_by(digests.c.id)
            )
            return [_digest(r) for r in rows]

    async def sync_file_digests(self, specs: Sequence[DigestSpec], *, now: datetime) -> None:
        """Make the file's digests present (keeping their identity and runs), drop removed ones.

        A file digest keeps its id while channel, cron, time zone and projects stay the same;
        only `top` may change in place.
        """
        wanted = {(s.channel, s.cron, s.timezone, _projects(s.projects)): s for s in specs}
        async with self._engine.begin() as conn:
            existing = {
                (r.channel, r.cron, r.timezone, r.projects): r
                for r in await conn.execute(sa.select(digests).where(digests.c.source == FILE))
            }
            for key, spec in wanted.items():
                row = existing.get(key)
                if row is None:
                    channel, cron, timezone, projects = key
                    await conn.execute(
                        sa.insert(digests).values(
                            channel=channel,
                            cron=cron,
                            timezone=timezone,
                            projects=projects,
                            top=spec.top,
                            source=FILE,
                            created_at=now,
                        )
                    )
                elif row.top != spec.top:
                    await conn.execute(
                        sa.update(digests).where(digests.c.id == row.id).values(top=spec.top)
                    )
            stale = [r.id for key, r in existing.items() if key not in wanted]
            await _delete(conn, stale)

    async def set_channel_digest(
        self,
        channel: str,
        *,
        cron: str,
        timezone: str,
        created_by: str | None,
        now: datetime,
        projects: Sequence[str] = (),
        top: int = 10,
    ) -> Digest:
        """Replace the channel's Slack-made digest with this schedule (file digests stay)."""
        async with self._engine.begin() as conn:
            await _delete(conn, await _slack_made(conn, channel))
            result = await conn.execute(
                sa.insert(digests)
                .values(
                    channel=channel,
                    cron=cron,
                    timezone=timezone,
                    projects=_projects(projects),
                    top=top,
                    source=SLACK,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(*digests.c)
            )
            return _digest(result.one())

    async def remove_channel_digest(self, channel: str) -> bool:
        """Remove the channel's Slack-made digest; False when it had none."""
        async with self._engine.begin() as conn:
            doomed = await _slack_made(conn, channel)
            await _delete(conn, doomed)
            return bool(doomed)

    # -- the run ledger -----------------------------------------------------------------------

    def _insert_run_ignoring_duplicates(self) -> sa.Insert:
        keys = ["digest_id", "period_end"]
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(digest_runs).on_conflict_do_nothing(index_elements=keys)
        return sqlite.insert(digest_runs).on_conflict_do_nothing(index_elements=keys)

    async def claim_run(
        self,
        digest: Digest,
        *,
        period_start: datetime,
        period_end: datetime,
        late: bool,
        token: str,
        now: datetime,
        state: str = POSTING,
    ) -> DigestRun | None:
        """Insert the (digest, period) row; None when another run (or replica) already has it."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                self._insert_run_ignoring_duplicates()
                .values(
                    digest_id=digest.id,
                    channel=digest.channel,
                    period_start=period_start,
                    period_end=period_end,
                    state=state,
                    late=late,
                    claim_token=token,
                    claimed_at=now,
                )
                # RETURNING says whether the row was inserted, on every backend.
                .returning(digest_runs.c.id)
            )
            if result.first() is None:
                return None
            row = (
                await conn.execute(
                    sa.select(digest_runs).where(
                        digest_runs.c.digest_id == digest.id,
                        digest_runs.c.period_end == period_end,
                    )
                )
            ).one()
            return _run(row)

    async def has_run(self, digest_id: int, period_end: datetime) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.execute(
                sa.select(digest_runs.c.id).where(
                    digest_runs.c.digest_id == digest_id, digest_runs.c.period_end == period_end
                )
            )
            return found.first() is not None

    async def last_posted_end(self, digest_id: int) -> datetime | None:
        """The end of the latest period this digest posted (the next period starts there)."""
        async with self._engine.connect() as conn:
            value = await conn.execute(
                sa.select(sa.func.max(digest_runs.c.period_end)).where(
                    digest_runs.c.digest_id == digest_id, digest_runs.c.state == POSTED
                )
            )
            found = value.scalar()
            return found if isinstance(found, datetime) else None

    async def mark_posted(self, run_id: int, *, ts: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(digest_runs)
                .where(digest_runs.c.id == run_id)
                .values(state=POSTED, message_ts=ts, posted_at=now)
            )

    async def mark_failed(self, run_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(digest_runs)
                .where(digest_runs.c.id == run_id, digest_runs.c.state == POSTING)
                .values(state=FAILED)
            )

    async def release(self, run_id: int) -> None:
        """A post that certainly did not happen: forget the claim so the period can be retried."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(digest_runs).where(
                    digest_runs.c.id == run_id, digest_runs.c.state == POSTING
                )
            )

    async def in_flight(self, *, claimed_before: datetime) -> list[DigestRun]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(digest_runs)
                .where(digest_runs.c.state == POSTING, digest_runs.c.claimed_at < claimed_before)
                .order_by(digest_runs.c.id)
            )
            return [_run(r) for r in rows]

    async def runs(self, digest_id: int | None = None) -> list[DigestRun]:
        query = sa.select(digest_runs).order_by(digest_runs.c.period_end, digest_runs.c.id)
        if digest_id is not None:
            query = query.where(digest_runs.c.digest_id == digest_id)
        async with self._engine.connect() as conn:
            return [_run(r) for r in await conn.execute(query)]
