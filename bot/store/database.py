"""Engine creation: SQLite in WAL mode with a busy timeout, or PostgreSQL through psycopg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Per pooled connection. The bot's database stays small (a few MB with 10,000 cards), so
# SQLite's defaults (2 MiB of pages, 128 prepared statements) only let memory creep up as the
# caches fill with pages and with IN lists of every length.
SQLITE_CACHE_KIB = 512
SQLITE_CACHED_STATEMENTS = 32


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Build the async engine; a SQLite file's folder is created on first start."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"cached_statements": SQLITE_CACHED_STATEMENTS}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


# Any fixed number: replicas starting together on PostgreSQL apply the routes file in turn.
STARTUP_LOCK = 72_616_002


@asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Serialise start-up writes (the routes file, file digests) across replicas.

    PostgreSQL: a session-level advisory lock held on its own connection for the block.
    SQLite runs one process per file, so nothing is needed there.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
            await conn.commit()
