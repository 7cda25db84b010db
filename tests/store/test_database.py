"""Engine settings every pooled SQLite connection gets."""

import asyncio
from pathlib import Path

import sqlalchemy as sa

from bot.store.database import (
    SQLITE_CACHE_KIB,
    SQLITE_POOL_OVERFLOW,
    SQLITE_POOL_SIZE,
    create_engine,
)


async def test_sqlite_connections_keep_a_bounded_page_cache(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    async with engine.connect() as first, engine.connect() as second:
        sizes = [
            (await conn.execute(sa.text("PRAGMA cache_size"))).scalar() for conn in (first, second)
        ]
        timeouts = [
            (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar()
            for conn in (first, second)
        ]
    await engine.dispose()
    assert sizes == [-SQLITE_CACHE_KIB, -SQLITE_CACHE_KIB]
    assert timeouts == [10000, 10000]


async def test_a_burst_of_connections_leaves_only_the_pool_open(tmp_path: Path) -> None:
    """Concurrent requests beyond the pool get connections of their own, closed once returned:
    each connection is a thread with its own memory, so the count must not ratchet up."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    burst = SQLITE_POOL_SIZE + SQLITE_POOL_OVERFLOW
    holding = asyncio.Event()
    opened = 0

    async def hold() -> int:
        nonlocal opened
        async with engine.connect() as conn:
            opened += 1
            if opened == burst:
                holding.set()
            await holding.wait()
            return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())

    try:
        assert (
            await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(burst))), 30)
            == [1] * burst
        )
        pool = engine.sync_engine.pool
        assert pool.checkedin() == SQLITE_POOL_SIZE  # type: ignore[attr-defined]
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
