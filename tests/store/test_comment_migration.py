"""A database written by the release before the conversation with Sentry (schema version 3)
upgrades in place: its cards stay, and their comments can be followed from then on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot.card.store import CardStore
from bot.conversation.store import CommentStore, Relay, comment_key
from bot.outbox.store import OutboxStore
from bot.store.database import create_engine
from bot.store.migrations import LATEST_VERSION, migrate

SCHEMA_V3 = Path(__file__).with_name("schema_v3.sqlite.sql")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_a_version_3_database_upgrades_and_follows_comments(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/v3.sqlite3")
    async with engine.begin() as conn:
        for statement in SCHEMA_V3.read_text().split(";"):
            body = "\n".join(
                line for line in statement.splitlines() if not line.startswith("--")
            ).strip()
            if body:
                await conn.execute(sa.text(body))
        await conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (3)"))
        await conn.execute(
            sa.text(
                "INSERT INTO outbox (id, channel, key, producer, state, posted_as, message_ts,"
                " posted_at, attempts, due_at) VALUES (1, 'C1', 'issue:42', 'card', 'posted',"
                " 'card', '1.000100', '2026-03-01 11:00:00', 0, '2026-03-01 11:00:00')"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO cards (id, channel, issue_id, project, first_seen, outbox_id)"
                " VALUES (7, 'C1', '42', 'web', '2026-03-01 10:00:00', 1)"
            )
        )
    await migrate(engine)
    await migrate(engine)  # every start migrates: the second run changes nothing
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version FROM schema_version"))).scalar()
    assert version == LATEST_VERSION
    [card] = await CardStore(engine).for_issue("42")
    assert card.shown_as_card
    assert card.message_ts == "1.000100"

    comments = CommentStore(engine)
    owed = await comments.relay(
        card_id=card.id,
        channel=card.channel,
        thread_ts="1.000100",
        issue_id="42",
        comments=[Relay(9001, "Bo Berg", "on it")],
        num_comments=1,
        last_comment_id=9001,
        now=NOW,
    )
    again = await comments.relay(
        card_id=card.id,
        channel=card.channel,
        thread_ts="1.000100",
        issue_id="42",
        comments=[Relay(9001, "Bo Berg", "on it")],
        num_comments=1,
        last_comment_id=9001,
        now=NOW,
    )
    assert (owed, again) == (1, 0)
    [row] = await comments.owed()
    assert (row.author, row.body, row.post.key) == ("Bo Berg", "on it", comment_key(7, 9001))
    assert row.post.thread_ts == "1.000100"
    assert (await comments.marks([7]))[7].last_comment_id == 9001
    assert await OutboxStore(engine).count(producer="comment") == 1
    await engine.dispose()
