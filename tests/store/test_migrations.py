"""Schema versioning: fresh databases are stamped, newer ones refused, reruns harmless."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.database import create_engine
from bot.store.migrations import LATEST_VERSION, migrate


async def test_fresh_database_is_created_and_stamped(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/nested/dir/bot.sqlite3")
    await migrate(engine)
    await migrate(engine)
    async with engine.connect() as conn:
        versions = (await conn.execute(sa.text("SELECT version FROM schema_version"))).all()
        mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()
    await engine.dispose()
    assert versions == [(LATEST_VERSION,)]
    assert mode == "wal"


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE schema_version SET version = 999"))
    with pytest.raises(RuntimeError, match="newer than this release"):
        await migrate(engine)
    await engine.dispose()
