"""Leases: one holder at a time, renewals extend, expiry hands over, release frees at once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.leases import LeaseStore

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
    assert await leases.holder("poller", now=T0 + timedelta(seconds=20)) == "b"
    assert not await leases.acquire("poller", holder="a", ttl=TTL, now=T0 + timedelta(seconds=21))


async def test_release_hands_over_at_once(engine: AsyncEngine) -> None:
    leases = LeaseStore(engine)
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0)
    await leases.release("poller", holder="b")  # not b's to release
    assert await leases.holder("poller", now=T0) == "a"
    await leases.release("poller", holder="a")
    assert await leases.acquire("poller", holder="b", ttl=TTL, now=T0 + timedelta(seconds=1))


async def test_leases_are_independent(engine: AsyncEngine) -> None:
    leases = LeaseStore(engine)
    assert await leases.acquire("poller", holder="a", ttl=TTL, now=T0)
    assert await leases.acquire("other", holder="b", ttl=TTL, now=T0)
