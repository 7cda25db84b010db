"""Leases: one replica at a time runs a singleton job (polling), taken over when it dies.

A lease is a row (name, holder, expires_at). Acquiring or renewing is one
conditional UPDATE that only succeeds when the caller already holds the lease
or it has expired, so two replicas can never both hold it; the clock that
matters is each replica's own, so keep them in sync (NTP) and the lease's
time-to-live well above the expected skew.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import leases


class LeaseStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _insert_ignoring_existing(self) -> sa.Insert:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(leases).on_conflict_do_nothing(index_elements=["name"])
        return sqlite.insert(leases).on_conflict_do_nothing(index_elements=["name"])

    async def acquire(self, name: str, *, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew the lease for `ttl`; True while this holder has it.

        A renewal is one UPDATE; the row is inserted only when it does not exist yet (two
        replicas inserting at once: the primary key lets exactly one of them in).
        """
        expires = now + ttl
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(leases)
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.holder == holder, leases.c.expires_at < now),
                )
                .values(
                    holder=holder,
                    expires_at=expires,
                    acquired_at=sa.case(
                        (leases.c.holder == holder, leases.c.acquired_at), else_=now
                    ),
                )
            )
            if result.rowcount:
                return True
            inserted = await conn.execute(
                self._insert_ignoring_existing().returning(leases.c.name),
                {"name": name, "holder": holder, "expires_at": expires, "acquired_at": now},
            )
            return inserted.first() is not None

    async def release(self, name: str, *, holder: str) -> None:
        """Give the lease up at a clean shutdown, so another replica takes over at once."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )
