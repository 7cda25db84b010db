"""The walk through tracked cards: each cycle's batch is the next cards after the last compared,
in id order and round again, so every card comes round within two cycles (up to the cap)."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts.walk import TrackedWalk
from bot.card.batch import batch_size
from bot.card.store import CardStore, NewCard
from bot.outbox.store import OutboxStore
from bot.store.database import create_engine
from bot.store.migrations import migrate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=14)
MIN, MAX = 3, 8


async def post(
    store: CardStore, outbox: OutboxStore, issue_ids: list[str], at: datetime, *, hold: bool = False
) -> None:
    """Cards for these issues, posted as cards at `at` (as delivery records them); `hold`
    leaves them owed (a card held back while Slack is unreachable), to be posted later."""
    fresh = [i for i in issue_ids if not await store.for_issue(i)]
    await store.enqueue(
        [NewCard(channel="C1", issue_id=i, route_id=1, project="web", first_seen=at) for i in fresh]
    )
    if hold:
        return
    owed = [r for r in await store.owed() if r.issue_id in set(issue_ids)]
    ids = [r.post.id for r in owed]
    await outbox.claim(ids, token="t", now=at)
    for row in owed:
        await outbox.mark_posted([row.post.id], ts=f"1.{row.id:06d}", posted_as="card", now=at)


def expected(tracked: list[int], after: int, limit: int) -> list[int]:
    """The model: the next `limit` ids after `after`, going round, each at most once; all of
    them, lowest first, when they fit in one batch."""
    if len(tracked) <= limit:
        return tracked
    ring = [i for i in tracked if i > after] + [i for i in tracked if i <= after]
    return ring[:limit]


# A cycle: how many new cards are posted before it, how many of the cards held back since
# before the others are posted then, and whether its comparison succeeds.
cycles = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 2), st.booleans()), min_size=1, max_size=14
)


@settings(max_examples=40)
@given(old=st.integers(0, 5), held=st.integers(0, 5), start=st.integers(0, 30), steps=cycles)
async def test_every_batch_is_the_next_cards_round_the_ring(
    old: int,
    held: int,
    start: int,
    steps: list[tuple[int, int, bool]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Whatever the number of cards, the cards posted between cycles, the cycles whose
    comparison failed, cards past the retention window and cards posted long after they were
    owed (lower ids than the tracked ones): each batch is exactly what the model says; and
    then every tracked card is in one of the next ceil(n / batch) batches (two while
    n <= 2 * MAX)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('walk')}/w.db")
    try:
        await migrate(engine)
        store, outbox = CardStore(engine), OutboxStore(engine)
        walk = TrackedWalk(store, min_batch=MIN, max_batch=MAX, census_every=4)
        now, after = T0, 0
        issues = iter(range(1, 10**6))
        await post(store, outbox, [str(next(issues)) for _ in range(old)], now - 2 * RETENTION)
        waiting = [str(next(issues)) for _ in range(held)]
        await post(store, outbox, waiting, now, hold=True)
        await post(store, outbox, [str(next(issues)) for _ in range(start)], now)

        async def cycle(succeeds: bool) -> list[int]:
            nonlocal after
            tracked = [r.id for r in await store.tracked(posted_since=now - RETENTION, limit=999)]
            limit = batch_size(len(tracked), min_batch=MIN, max_batch=MAX)
            batch = [r.id for r in await walk.next(now=now, posted_since=now - RETENTION)]
            assert batch == expected(tracked, after, limit)
            if succeeds and batch:
                walk.advance(batch[-1])
                after = batch[-1]
            return batch

        for added, released, succeeds in steps:
            now += timedelta(seconds=1)
            await post(store, outbox, [str(next(issues)) for _ in range(added)], now)
            await post(store, outbox, waiting[:released], now)
            del waiting[:released]
            await cycle(succeeds)
        tracked = {r.id for r in await store.tracked(posted_since=now - RETENTION, limit=999)}
        rounds = math.ceil(len(tracked) / batch_size(len(tracked), min_batch=MIN, max_batch=MAX))
        assert rounds <= 2 or len(tracked) > 2 * MAX
        compared: set[int] = set()
        for _ in range(rounds):
            compared.update(await cycle(True))
        assert compared == tracked
    finally:
        await engine.dispose()


async def test_no_tracked_cards_no_batch_and_old_cards_left_out(engine: AsyncEngine) -> None:
    store, outbox = CardStore(engine), OutboxStore(engine)
    walk = TrackedWalk(store, min_batch=MIN, max_batch=MAX)
    assert await walk.next(now=T0, posted_since=T0 - RETENTION) == []
    await post(store, outbox, ["old"], T0 - timedelta(days=20))
    await post(store, outbox, ["a", "b"], T0)
    batch = await walk.next(now=T0, posted_since=T0 - RETENTION)
    assert [r.issue_id for r in batch] == ["a", "b"]


def test_batch_size_is_half_within_bounds() -> None:
    assert batch_size(0) == 100
    assert batch_size(201) == 101
    assert batch_size(2_000) == 1_000
    assert batch_size(10_000) == 1_000
