"""The card ledger on the outbox: idempotent enqueue, single claim, release, tracked cards."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card.store import CardStore, NewCard, TrackedCensus
from bot.outbox.store import OutboxStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new(issue_id: str, channel: str = "C1", minutes: int = 0) -> NewCard:
    return NewCard(
        channel=channel,
        issue_id=issue_id,
        route_id=1,
        project="web",
        first_seen=T0 + timedelta(minutes=minutes),
    )


async def test_enqueue_is_idempotent_per_channel_and_issue(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    assert await store.enqueue([new("1"), new("2"), new("1", channel="C2")]) == 3
    assert await store.enqueue([new("1"), new("2"), new("3")]) == 1
    assert await store.count() == 4
    assert {(r.channel, r.issue_id) for r in await store.owed()} == {
        ("C1", "1"),
        ("C1", "2"),
        ("C1", "3"),
        ("C2", "1"),
    }


async def test_owed_rows_come_oldest_first(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("late", minutes=5), new("early", minutes=1), new("mid", minutes=3)])
    assert [r.issue_id for r in await store.owed()] == ["early", "mid", "late"]


async def test_a_row_is_claimed_once(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    await store.enqueue([new("1"), new("2")])
    ids = [r.post.id for r in await store.owed()]
    first = await outbox.claim(ids, token="a", now=T0)
    second = await outbox.claim(ids, token="b", now=T0)
    assert first == set(ids)
    assert second == set()
    assert await store.owed() == []


async def test_release_makes_a_row_owed_again_and_counts_attempts(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    await store.enqueue([new("1")])
    [row] = await store.owed()
    await outbox.claim([row.post.id], token="a", now=T0)
    await outbox.release([row.post.id], error="not_in_channel")
    [again] = await store.owed()
    assert again.post.attempts == 1
    assert again.post.claim_token is None
    assert again.post.last_error == "not_in_channel"


async def test_in_flight_rows_by_producer(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    await store.enqueue([new("old"), new("young")])
    rows = {r.issue_id: r.post.id for r in await store.owed()}
    await outbox.claim([rows["old"]], token="a", now=T0)
    assert [r.key for r in await outbox.in_flight(producer="card")] == ["issue:old"]
    assert await outbox.in_flight(producer="digest") == []


async def test_posted_rows_keep_their_message_and_its_kind(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    await store.enqueue([new("1"), new("2")])
    owed = await store.owed()
    await outbox.claim([r.post.id for r in owed], token="a", now=T0)
    await outbox.mark_posted([owed[0].post.id], ts="1.000100", posted_as="card", now=T0)
    await outbox.mark_posted([owed[1].post.id], ts="1.000200", posted_as="summary", now=T0)
    [card] = await store.for_issue("1")
    [listed] = await store.for_issue("2")
    assert (card.post.state, card.message_ts, card.post.posted_at) == ("posted", "1.000100", T0)
    assert card.shown_as_card
    assert not listed.shown_as_card  # a storm summary is never redrawn as one issue's card


async def test_tracked_cards_respect_retention_kind_and_check_order(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    await store.enqueue([new("old"), new("a"), new("b"), new("listed")])
    rows = {r.issue_id: r for r in await store.owed()}
    for issue_id, posted in (
        ("old", T0 - timedelta(days=20)),
        ("a", T0),
        ("b", T0),
        ("listed", T0),
    ):
        ids = [rows[issue_id].post.id]
        await outbox.claim(ids, token="t", now=posted)
        kind = "summary" if issue_id == "listed" else "card"
        await outbox.mark_posted(ids, ts=f"{len(issue_id)}.1", posted_as=kind, now=posted)
    since = T0 - timedelta(days=14)
    assert await store.count_tracked(posted_since=since) == 2
    census = await store.census(posted_since=since)
    assert (census.count, census.first_id) == (2, rows["a"].id)
    order = [r.issue_id for r in await store.tracked(posted_since=since, limit=10)]
    assert order == ["a", "b"]  # in id order, the old card and the summary left out
    after_a = await store.tracked(posted_since=since, after=rows["a"].id, limit=10)
    assert [r.issue_id for r in after_a] == ["b"]
    assert [r.issue_id for r in await store.tracked(posted_since=since, limit=1)] == ["a"]
    assert await store.census(posted_since=T0 + timedelta(days=1)) == TrackedCensus(0, 0)
