"""The comment store on SQLite and PostgreSQL: a comment is owed to a card's thread once however
many processes see it at the same moment, watermarks move with it, and own comments are known."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card.store import CardStore, NewCard
from bot.conversation.store import CommentStore, Relay, thread_issue_query
from bot.outbox.store import OutboxStore
from bot.store.database import create_engine
from bot.store.migrations import migrate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def posted_card(engine: AsyncEngine, issue_id: str = "42") -> int:
    cards = CardStore(engine)
    await cards.enqueue([NewCard("C1", issue_id, None, "web", NOW)])
    [card] = await cards.for_issue(issue_id)
    outbox = OutboxStore(engine)
    await outbox.claim([card.post.id], token="t", now=NOW)
    await outbox.mark_posted([card.post.id], ts="1.000100", posted_as="card", now=NOW)
    return card.id


async def test_a_comment_seen_by_several_processes_at_once_is_owed_once(
    engine: AsyncEngine,
) -> None:
    card_id = await posted_card(engine)
    stores = [CommentStore(engine) for _ in range(4)]
    owed = await asyncio.gather(
        *(
            store.relay(
                card_id=card_id,
                channel="C1",
                thread_ts="1.000100",
                issue_id="42",
                comments=[Relay(9001, "Bo Berg", "on it"), Relay(9002, "Bo Berg", "done")],
                num_comments=2,
                last_comment_id=9002,
                now=NOW,
            )
            for store in stores
        )
    )
    assert sum(owed) == 2
    rows = await stores[0].owed()
    assert [(r.comment_id, r.body) for r in rows] == [(9001, "on it"), (9002, "done")]
    assert await OutboxStore(engine).count(producer="comment") == 2
    assert (await stores[0].marks([card_id]))[card_id].last_comment_id == 9002


async def test_marks_start_lower_and_the_thread_is_found(engine: AsyncEngine) -> None:
    card_id = await posted_card(engine)
    store = CommentStore(engine)
    await store.start_marks([card_id])
    await store.start_marks([card_id])  # already marked: kept
    assert (await store.marks([card_id]))[card_id].num_comments == 0
    await store.relay(
        card_id=card_id,
        channel="C1",
        thread_ts="1.000100",
        issue_id="42",
        comments=[],
        num_comments=3,
        last_comment_id=77,
        now=NOW,
    )
    await store.lower_counts({card_id: 1})
    mark = (await store.marks([card_id]))[card_id]
    assert (mark.num_comments, mark.last_comment_id) == (1, 77)
    assert await store.issue_of_thread("C1", "1.000100") == "42"
    assert await store.issue_of_thread("C1", "9.000000") is None
    assert await store.issue_of_thread("C2", "1.000100") is None


async def test_own_comments_and_their_author(engine: AsyncEngine) -> None:
    store = CommentStore(engine)
    await store.record_own(comment_id=5, issue_id="42", author_id="900001", now=NOW)
    await store.record_own(comment_id=5, issue_id="42", author_id="900001", now=NOW)
    await store.record_own(comment_id=6, issue_id="43", author_id=None, now=NOW)
    assert await store.own("42") == ({5}, {"900001"})
    assert await store.own("43") == ({6}, {"900001"})


async def test_a_thread_is_found_through_an_index_not_by_reading_every_message(
    tmp_path: Path,
) -> None:
    # Outbox rows are the ledger and are kept for good, so the look-up must not grow with them.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    try:
        await migrate(engine)
        sql = thread_issue_query("C1", "1.000100").compile(
            dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
        )
        async with engine.connect() as conn:
            plan = [row[-1] for row in await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
    finally:
        await engine.dispose()
    assert any("ix_outbox_message_ts" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan
