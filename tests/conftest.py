"""Shared fixtures: a fresh SQLite database per test (a real file, WAL mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import create_engine
from bot.store.migrations import migrate


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    await migrate(engine)
    yield engine
    await engine.dispose()
