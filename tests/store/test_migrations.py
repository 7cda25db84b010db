"""Schema versioning: fresh databases are stamped, newer ones refused, reruns harmless."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.sentry.ids import IssueId
from bot.store.database import create_engine
from bot.store.migrations import LATEST_VERSION, migrate
from bot.unfurls.store import NewUnfurl, UnfurlStore
from bot.webhooks.hooks import Hint
from bot.webhooks.queue import WebhookQueue
from tests.conftest import fresh_postgres_database


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


async def test_a_version_1_database_upgrades_in_place(tmp_path: Path) -> None:
    """A database written by release 1 (its schema checked in as SQL) keeps its rows."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    statements = (Path(__file__).parent / "schema_v1.sqlite.sql").read_text().split(";")
    async with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(
                line for line in statement.splitlines() if not line.startswith("--")
            ).strip()
            if body:
                await conn.execute(sa.text(body))
        await conn.execute(
            sa.text(
                "INSERT INTO cards (channel, issue_id, first_seen, state, message_ts)"
                " VALUES ('C1', '42', '2026-01-01 00:00:00', 'posted', '1.000100')"
            )
        )
    await migrate(engine)
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).scalar()
        card = (
            await conn.execute(
                sa.text(
                    "SELECT issue_id, message_ts, posted_as, checked_at FROM cards"
                    " JOIN outbox ON outbox.id = cards.outbox_id"
                )
            )
        ).one()
        tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    await engine.dispose()
    assert version == LATEST_VERSION == 6
    assert tuple(card) == ("42", "1.000100", "card", None)
    assert {"actions", "replies", "digests", "digest_runs", "leases", "outbox"} <= tables


async def test_a_version_3_database_gets_the_webhook_queue_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """A database written by release 3 (its schema as SQLite stores it, checked in) upgrades to
    the latest version: the webhook queue appears, empty, and the posted card is still posted."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    statements = (Path(__file__).parent / "schema_v3.sqlite.sql").read_text().split(";")
    async with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(
                line for line in statement.splitlines() if not line.startswith("--")
            ).strip()
            if body:
                await conn.execute(sa.text(body))
        await conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (3)"))
        await conn.execute(
            sa.text(
                "INSERT INTO outbox (id, channel, key, producer, state, posted_as, message_ts,"
                " attempts, due_at) VALUES (1, 'C1', 'issue:42', 'card', 'posted', 'card',"
                " '1.000100', 0, '2026-01-01 00:00:00')"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO cards (channel, issue_id, project, first_seen, outbox_id)"
                " VALUES ('C1', '42', 'web', '2026-01-01 00:00:00', 1)"
            )
        )
    await migrate(engine)
    queue = WebhookQueue(engine)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert await queue.pending() == 0
    assert await queue.put(Hint("issue", "issue", "created", IssueId(42), route=True), now=now)
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).scalar()
        card = (
            await conn.execute(
                sa.text(
                    "SELECT issue_id, state, message_ts FROM cards"
                    " JOIN outbox ON outbox.id = cards.outbox_id"
                )
            )
        ).one()
    [job] = await queue.claim(now=now, limit=10, hold=timedelta(minutes=1))
    await engine.dispose()
    assert version == LATEST_VERSION == 6
    assert tuple(card) == ("42", "posted", "1.000100")
    assert (job.issue_id, job.route, job.redraw) == ("42", True, False)


@pytest.mark.postgres
async def test_replicas_migrating_at_once_on_postgres(postgres_database: str) -> None:
    """Three replicas starting together: one creates the schema, the others find it."""
    url = await fresh_postgres_database(postgres_database)
    engines = [create_engine(url) for _ in range(3)]
    await asyncio.gather(*(migrate(e) for e in engines))
    async with engines[0].connect() as conn:
        version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).all()
    for e in engines:
        await e.dispose()
    assert version == [(LATEST_VERSION,)]


async def test_an_index_added_since_is_created_on_an_existing_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP INDEX ix_outbox_posted"))
        await migrate(engine)
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda sync: {i["name"] for i in sa.inspect(sync).get_indexes("outbox")}
            )
        assert "ix_outbox_posted" in names
    finally:
        await engine.dispose()


async def test_a_version_5_database_gets_the_unfurl_ledger_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """A database written by release 5 (its schema as SQLite stores it, checked in) upgrades to
    the latest version: unfurls can be recorded, and the posted card and queued job stay."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    statements = (Path(__file__).parent / "schema_v5.sqlite.sql").read_text().split(";")
    async with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(
                line for line in statement.splitlines() if not line.startswith("--")
            ).strip()
            if body:
                await conn.execute(sa.text(body))
        await conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (5)"))
        await conn.execute(
            sa.text(
                "INSERT INTO outbox (id, channel, key, producer, state, posted_as, message_ts,"
                " attempts, due_at) VALUES (1, 'C1', 'issue:42', 'card', 'posted', 'card',"
                " '1.000100', 0, '2026-01-01 00:00:00')"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO cards (channel, issue_id, project, first_seen, outbox_id)"
                " VALUES ('C1', '42', 'web', '2026-01-01 00:00:00', 1)"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO webhook_jobs (kind, issue_id, route, redraw, seq, attempts,"
                " received_at, due_at) VALUES ('issue', '42', 0, 1, 1, 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    await migrate(engine)
    await migrate(engine)  # every start migrates: the second run changes nothing
    store = UnfurlStore(engine)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    entry = NewUnfurl(
        channel="C2",
        message_ts="2.000200",
        unfurl_id=None,
        source=None,
        url="https://sentry.example.com/organizations/acme/issues/42/",
        issue_id="42",
        rendered="unresolved|ongoing|",
        blocks="[]",
    )
    await store.record([entry], now=now)
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).scalar()
        card = (
            await conn.execute(
                sa.text(
                    "SELECT issue_id, state, message_ts FROM cards"
                    " JOIN outbox ON outbox.id = cards.outbox_id"
                )
            )
        ).one()
        indexes = {
            i["name"] for i in await conn.run_sync(lambda c: sa.inspect(c).get_indexes("unfurls"))
        }
    queue = WebhookQueue(engine)
    pending = await queue.pending()
    [row] = await store.for_issue("42")
    await engine.dispose()
    assert version == LATEST_VERSION == 6
    assert tuple(card) == ("42", "posted", "1.000100")
    assert pending == 1
    assert (row.channel, row.message_ts, row.rendered) == ("C2", "2.000200", "unresolved|ongoing|")
    assert {"ix_unfurls_issue", "ix_unfurls_unfurled_at"} <= indexes
