"""The card ledger: idempotent enqueue, single claim, release and reconciliation queries."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.cards import CardStore, NewCard

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
    assert await store.known("C1", ["1", "2", "3", "9"]) == {"1", "2", "3"}


async def test_owed_rows_come_oldest_first(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("late", minutes=5), new("early", minutes=1), new("mid", minutes=3)])
    assert [r.issue_id for r in await store.owed()] == ["early", "mid", "late"]


async def test_a_row_is_claimed_once(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("1"), new("2")])
    ids = [r.id for r in await store.owed()]
    first = await store.claim(ids, token="a", now=T0)
    second = await store.claim(ids, token="b", now=T0)
    assert first == set(ids)
    assert second == set()
    assert await store.owed() == []


async def test_release_makes_a_row_owed_again_and_counts_attempts(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("1")])
    [row] = await store.owed()
    await store.claim([row.id], token="a", now=T0)
    await store.release([row.id], error="not_in_channel")
    [again] = await store.owed()
    assert again.attempts == 1
    assert again.claim_token is None


async def test_in_flight_rows_by_claim_age(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("old"), new("young")])
    rows = {r.issue_id: r.id for r in await store.owed()}
    await store.claim([rows["old"]], token="a", now=T0)
    await store.claim([rows["young"]], token="a", now=T0 + timedelta(minutes=10))
    stale = await store.in_flight(claimed_before=T0 + timedelta(minutes=5))
    assert [r.issue_id for r in stale] == ["old"]
    assert len(await store.in_flight(claimed_before=None)) == 2


async def test_posted_rows_keep_their_message(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("1")])
    [row] = await store.owed()
    await store.claim([row.id], token="a", now=T0)
    await store.mark_posted([row.id], ts="1.000100", kind="card", now=T0, status="unresolved")
    [posted] = await store.for_issue("1")
    assert (posted.state, posted.message_ts, posted.status) == ("posted", "1.000100", "unresolved")
    assert posted.posted_at == T0


async def test_tracked_cards_respect_retention_and_check_order(engine: AsyncEngine) -> None:
    store = CardStore(engine)
    await store.enqueue([new("old"), new("a"), new("b")])
    rows = {r.issue_id: r.id for r in await store.owed()}
    for issue_id, posted in (("old", T0 - timedelta(days=20)), ("a", T0), ("b", T0)):
        await store.claim([rows[issue_id]], token="t", now=posted)
        await store.mark_posted([rows[issue_id]], ts=f"{issue_id}.1", kind="card", now=posted)
    since = T0 - timedelta(days=14)
    assert await store.count_tracked(posted_since=since) == 2
    await store.mark_checked([rows["a"]], now=T0)
    order = [r.issue_id for r in await store.tracked(posted_since=since, limit=10)]
    assert order == ["b", "a"]  # never checked first
