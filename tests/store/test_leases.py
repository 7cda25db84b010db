"""Leases: one holder at a time, renewals extend, expiry hands over, release frees at once."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import create_engine
from bot.store.leases import LeaseStore
from bot.store.migrations import migrate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)


async def test_one_holder_until_expiry(engine: AsyncEngine) -> None:
    leases = LeaseStore(engine)
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0)
    assert not await leases.acquire("poller", holder="b", ttl=TTL, now=T0 + timedelta(seconds=5))
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0 + timedelta(seconds=8))
    # Renewed at +8 s: still a's at +15 s, b's after +18 s.
    assert not await leases.acquire("poller", holder="b", ttl=TTL, now=T0 + timedelta(seconds=15))
    assert await leases.acquire("poller", holder="b", ttl=TTL, now=T0 + timedelta(seconds=19))
    assert not await leases.acquire("poller", holder="a", ttl=TTL, now=T0 + timedelta(seconds=21))


async def test_release_hands_over_at_once(engine: AsyncEngine) -> None:
    leases = LeaseStore(engine)
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0)
    await leases.release("poller", holder="b")  # not b's to release
    assert not await leases.acquire("poller", holder="b", ttl=TTL, now=T0)
    await leases.release("poller", holder="a")
    assert await leases.acquire("poller", holder="b", ttl=TTL, now=T0 + timedelta(seconds=1))


async def test_leases_are_independent(engine: AsyncEngine) -> None:
    leases = LeaseStore(engine)
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0)
    assert await leases.acquire("other", holder="b", ttl=TTL, now=T0)


@settings(max_examples=60)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 30), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
async def test_at_most_one_holder_whatever_the_order(
    steps: list[tuple[str, int, bool]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any sequence of acquires (time moving forward) and releases: an acquire succeeds
    exactly when the caller holds the lease or it is free or expired, as a model says."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('leases')}/l.db")
    try:
        await migrate(engine)
        leases = LeaseStore(engine)
        holder: str | None = None
        expires = T0
        now = T0
        for who, advance, release in steps:
            now += timedelta(seconds=advance)
            if release:
                await leases.release("poller", holder=who)
                if holder == who:
                    holder = None
                continue
            free = holder is None or holder == who or expires < now
            assert await leases.acquire("poller", holder=who, ttl=TTL, now=now) == free
            if free:
                holder, expires = who, now + TTL
    finally:
        await engine.dispose()
