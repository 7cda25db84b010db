"""Engine settings every pooled SQLite connection gets."""

from pathlib import Path

import sqlalchemy as sa

from bot.store.database import SQLITE_CACHE_KIB, create_engine


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
