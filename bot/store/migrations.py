"""Versioned schema: a new database gets the current tables; an older one is upgraded in place.

A fresh database is created from `schema.metadata` and stamped with the latest
version. A database stamped with an older version runs each later step in order,
inside one transaction per step, so a crash mid-upgrade leaves the last good version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import schema

logger = logging.getLogger(__name__)

Step = Callable[[Connection], None]


def _v2_triage_digests_leases(conn: Connection) -> None:
    """Version 2: the action log, thread replies, digests and leases; cards get checked_at."""
    for table in (
        schema.actions,
        schema.replies,
        schema.digests,
        schema.digest_runs,
        schema.leases,
    ):
        table.create(conn)
    conn.execute(sa.text("ALTER TABLE cards ADD COLUMN checked_at TIMESTAMP"))


# Version N is reached by running MIGRATIONS[N - 2] on a version N-1 database.
# Version 1 is the baseline: routes and cards.
MIGRATIONS: list[Step] = [_v2_triage_digests_leases]

LATEST_VERSION = 1 + len(MIGRATIONS)


def _current_version(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table("schema_version"):
        return None
    value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(value) if value is not None else None


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(sa.delete(schema.schema_version))
    conn.execute(sa.insert(schema.schema_version).values(version=version))


def _upgrade(conn: Connection) -> tuple[int | None, int]:
    found = _current_version(conn)
    if found is None:
        schema.metadata.create_all(conn)
        _stamp(conn, LATEST_VERSION)
        return None, LATEST_VERSION
    if found > LATEST_VERSION:
        raise RuntimeError(
            f"the database is at schema version {found}, newer than this release "
            f"({LATEST_VERSION}); run a newer release or restore a backup"
        )
    for version in range(found + 1, LATEST_VERSION + 1):
        MIGRATIONS[version - 2](conn)
        _stamp(conn, version)
    _create_missing_indexes(conn)
    return found, LATEST_VERSION


def _create_missing_indexes(conn: Connection) -> None:
    """Indexes change no data and no query's result: one the schema declares is created
    wherever it is missing, at any version, without a version of its own."""
    for table in schema.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


# Any fixed number: replicas starting together on PostgreSQL take turns migrating.
MIGRATION_LOCK = 72_616_001


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database to LATEST_VERSION; safe to run at every start, and by several
    replicas at once (PostgreSQL serialises them with a transaction-level advisory lock)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        found, now = await conn.run_sync(_upgrade)
    if found is None:
        logger.info("created database schema version %d", now)
    elif found != now:
        logger.info("upgraded database schema from version %d to %d", found, now)
