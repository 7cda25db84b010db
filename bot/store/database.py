"""Engine creation: SQLite in WAL mode with a busy timeout, or PostgreSQL through psycopg;
and the check of `DATABASE_URL` before any of it runs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Per pooled connection. The bot's database stays small (a few MB with 10,000 cards), so
# SQLite's defaults (2 MiB of pages, 128 prepared statements) only let memory creep up as the
# caches fill with pages and with IN lists of every length.
SQLITE_CACHE_KIB = 512
SQLITE_CACHED_STATEMENTS = 32
# Every pooled SQLite connection is a thread of its own (aiosqlite) with its own malloc arena,
# page cache and prepared statements, about 0.6 MB in all, kept for the life of the process.
# The pool keeps this many; a burst of concurrent requests (clicks during a poll) opens up to
# SQLITE_POOL_OVERFLOW more (15 at most, as SQLAlchemy's default pool allows), which are
# closed as they are returned, so the process's memory does not step up each time a new peak
# of concurrency is reached.
SQLITE_POOL_SIZE = 2
SQLITE_POOL_OVERFLOW = 13


# The drivers installed with the bot (aiosqlite always, psycopg with the `postgres` extra); a
# plain URL or the synchronous driver's name maps to the asyncio one.
ASYNC_DRIVERS = {
    "sqlite": ("aiosqlite", {"", "pysqlite", "aiosqlite"}),
    "postgresql": ("psycopg", {"", "psycopg", "psycopg_async"}),
    "postgres": ("psycopg", {"", "psycopg"}),
}
EXAMPLE_URLS = "sqlite:///data/bot.sqlite3 or postgresql+psycopg://user:password@host/db"


def async_database_url(raw: str, *, cwd: Path | None = None) -> str:
    """The asyncio SQLAlchemy URL for `raw`; ValueError with the reason otherwise.

    The reason never repeats the URL, which may hold a password. A SQLite file's folder must
    exist or be creatable, so a path under a file fails here rather than at the first query.
    """
    try:
        url = make_url(raw)
        port = url.port
    except (ArgumentError, ValueError) as exc:
        reason = "its port is not a number" if "int()" in str(exc) else "it is not a database URL"
        raise ValueError(f"{reason} (like {EXAMPLE_URLS})") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"database '{backend[:20]}' is not supported (use {EXAMPLE_URLS})")
    async_driver, accepted = ASYNC_DRIVERS[backend]
    if driver not in accepted:
        raise ValueError(
            f"driver '{driver[:20]}' is not installed for {backend} (use {backend}+{async_driver})"
        )
    if port is not None and not 0 < port < 65_536:
        raise ValueError("its port is out of range (1 to 65535)")
    backend = "postgresql" if backend == "postgres" else backend
    if backend == "sqlite":
        _check_sqlite_path(url.database, cwd or Path.cwd())
    return url.set(drivername=f"{backend}+{async_driver}").render_as_string(hide_password=False)


def _check_sqlite_path(database: str | None, cwd: Path) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("a SQLite URL needs a file path (like sqlite:///data/bot.sqlite3)")
    path = Path(database).expanduser()
    path = path if path.is_absolute() else cwd / path
    try:
        if path.is_dir():
            raise ValueError("the SQLite path is a directory, not a file")
        ancestor = path.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ValueError("the SQLite file's folder would be under a file, not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK) and not path.exists():
            raise ValueError("the SQLite file's folder cannot be created here (no permission)")
    except OSError as exc:
        raise ValueError(f"the SQLite path is unusable ({exc.strerror or 'bad path'})") from exc


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
            url,
            connect_args={"cached_statements": SQLITE_CACHED_STATEMENTS},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
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
