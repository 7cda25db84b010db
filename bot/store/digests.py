"""Digest schedules: from the routes file and from `/sentry digest`.

Schedules come from the routes file (`source = "file"`, replaced at every start) and from
`/sentry digest` (`source = "slack"`, at most one per channel). Removing a schedule removes its
runs and what they owed in the outbox (`bot/digests/runs.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config_file import DigestSpec
from bot.store.schema import digest_runs, digests, outbox

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


async def _slack_made(conn: AsyncConnection, channel: str) -> list[int]:
    rows = await conn.execute(
        sa.select(digests.c.id).where(digests.c.channel == channel, digests.c.source == SLACK)
    )
    return [r.id for r in rows]


async def _delete(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Delete digests with their runs: SQLite reuses the highest rowid after a delete, and a
    new digest must not inherit another's ledger."""
    if ids:
        doomed = sa.select(digest_runs.c.outbox_id).where(digest_runs.c.digest_id.in_(list(ids)))
        await conn.execute(sa.delete(outbox).where(outbox.c.id.in_(doomed)))
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
