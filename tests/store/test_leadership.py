"""Leadership of polling on a real database: one renewal per period, a cycle that asks the
database only when the renewal is late, take-over of an expired lease, and never two leaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.leadership import Leadership, lease_timing
from bot.metrics import Metrics
from bot.store.database import create_engine
from bot.store.leases import LeaseStore
from bot.store.migrations import migrate
from bot.store.schema import leases

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """Wall and monotonic time moving together, by hand."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


def leadership(
    store: LeaseStore, clock: Clock, name: str, gained: list[tuple[str, bool]], interval: int = 1
) -> Leadership:
    return Leadership(
        store,
        instance=name,
        interval_seconds=interval,
        metrics=Metrics(),
        clock=clock.now,
        on_gained=lambda poll_now: gained.append((name, poll_now)),
        monotonic=clock.monotonic,
    )


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3")
    await migrate(engine)
    yield engine
    await engine.dispose()


def count_statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: seen.append(statement.split()[0]),
    )
    return seen


def test_timing_has_a_floor_at_short_intervals() -> None:
    assert lease_timing(1) == (timedelta(seconds=2), timedelta(seconds=1))
    assert lease_timing(2) == (timedelta(seconds=2), timedelta(seconds=1))
    assert lease_timing(60) == (timedelta(seconds=60), timedelta(seconds=20))


async def test_one_renewal_per_period_whatever_the_cycles(sqlite_engine: AsyncEngine) -> None:
    clock, gained = Clock(), []
    leader = leadership(LeaseStore(sqlite_engine), clock, "a", gained)
    assert await leader.hold()  # the first cycle takes the lease
    assert gained == [("a", False)]
    statements = count_statements(sqlite_engine)
    for _ in range(10):  # ten seconds: the job every second, a cycle every second
        clock.seconds += 0.5
        await leader.renew()
        clock.seconds += 0.5
        assert await leader.hold()
    assert statements == ["UPDATE"] * 10
    assert gained == [("a", False)]


async def test_a_late_renewal_makes_the_cycle_ask(sqlite_engine: AsyncEngine) -> None:
    clock, gained = Clock(), []
    leader = leadership(LeaseStore(sqlite_engine), clock, "a", gained)
    await leader.renew()
    statements = count_statements(sqlite_engine)
    clock.seconds += 1.4
    assert await leader.hold()
    assert statements == []
    clock.seconds += 0.2  # 1.6 s since the renewal: less than half a period left
    assert await leader.hold()
    assert statements == ["UPDATE"]


async def test_a_dead_leader_is_replaced_after_its_lease_and_told_when_back(
    sqlite_engine: AsyncEngine,
) -> None:
    clock, gained = Clock(), []
    store = LeaseStore(sqlite_engine)
    first, second = leadership(store, clock, "a", gained), leadership(store, clock, "b", gained)
    await first.renew()
    await second.renew()
    assert (first.leader, second.leader) == (True, False)
    clock.seconds += 2.5  # `a` stopped renewing: its lease (2 s) has expired
    await second.renew()
    assert second.leader
    assert gained == [("a", True), ("b", True)]
    assert not await first.hold()
    assert not first.leader


async def test_release_hands_over_at_once(sqlite_engine: AsyncEngine) -> None:
    clock, gained = Clock(), []
    store = LeaseStore(sqlite_engine)
    first, second = leadership(store, clock, "a", gained), leadership(store, clock, "b", gained)
    await first.renew()
    await first.release()
    await second.renew()
    assert second.leader


operations = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["hold", "renew"]),
        st.floats(0, 3, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60)
@given(steps=operations, interval=st.sampled_from([1, 2, 5]))
async def test_whoever_is_told_it_leads_holds_the_unexpired_lease(
    steps: list[tuple[str, str, float]], interval: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any interleaving of cycles and renewals of three replicas, time moving on: a replica
    told it leads is the lease's holder in the database, and the lease has not expired."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('lead')}/l.db")
    try:
        await migrate(engine)
        clock, gained = Clock(), []
        store = LeaseStore(engine)
        replicas = {n: leadership(store, clock, n, gained, interval) for n in "abc"}
        for name, operation, advance in steps:
            clock.seconds += advance
            replica = replicas[name]
            if operation == "renew":
                await replica.renew()
                leads = replica.leader
            else:
                leads = await replica.hold()
            if leads:
                async with engine.connect() as conn:
                    row = (await conn.execute(sa.select(leases))).one()
                assert row.holder == name
                assert row.expires_at > clock.now()
    finally:
        await engine.dispose()
