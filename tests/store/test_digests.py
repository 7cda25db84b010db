"""The digest store: file sync keeps ids, a Slack digest replaces the last, runs claim once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config_file import DigestSpec
from bot.digests.runs import DigestRuns
from bot.outbox.store import POSTED, POSTING, SKIPPED, OutboxStore
from bot.store.digests import DigestStore

NOW = datetime(2026, 3, 30, 7, tzinfo=UTC)


async def test_file_sync_keeps_ids_updates_top_and_drops_removed(engine: AsyncEngine) -> None:
    store = DigestStore(engine)
    keep = DigestSpec(
        channel="C1", cron="0 9 * * 1-5", timezone="Europe/Berlin", projects=("b", "a")
    )
    gone = DigestSpec(channel="C2", cron="0 9 * * *")
    await store.sync_file_digests([keep, gone], now=NOW)
    before = {d.channel: d for d in await store.all()}
    assert before["C1"].projects == ("a", "b")
    again = DigestSpec(
        channel="C1", cron="0 9 * * 1-5", timezone="Europe/Berlin", projects=("a", "b"), top=5
    )
    await store.sync_file_digests([again], now=NOW + timedelta(days=1))
    [after] = await store.all()
    assert (after.id, after.top, after.created_at) == (before["C1"].id, 5, NOW)


async def test_a_slack_digest_replaces_the_channels_previous_one(engine: AsyncEngine) -> None:
    store = DigestStore(engine)
    await store.sync_file_digests([DigestSpec(channel="C1", cron="0 8 * * *")], now=NOW)
    first = await store.set_channel_digest(
        "C1", cron="0 9 * * *", timezone="UTC", created_by="U1", now=NOW
    )
    second = await store.set_channel_digest(
        "C1", cron="0 10 * * *", timezone="UTC", created_by="U2", now=NOW
    )
    assert (first.created_by, second.created_by) == ("U1", "U2")
    assert [(d.cron, d.source) for d in await store.for_channel("C1")] == [
        ("0 8 * * *", "file"),
        ("0 10 * * *", "slack"),
    ]
    assert await store.remove_channel_digest("C1")
    assert not await store.remove_channel_digest("C1")


async def test_a_period_is_owed_once_and_claimed_once(engine: AsyncEngine) -> None:
    store, runs, outbox = DigestStore(engine), DigestRuns(engine), OutboxStore(engine)
    digest = await store.set_channel_digest(
        "C1", cron="0 9 * * *", timezone="UTC", created_by=None, now=NOW
    )
    owed = [
        await runs.owe_run(
            digest, period_start=NOW - timedelta(days=1), period_end=NOW, late=False, now=NOW
        )
        for _ in range(2)
    ]
    assert owed[0] is not None
    assert owed[0] == owed[1]  # owed until claimed
    assert await outbox.claim([owed[0].post.id], token="a", now=NOW) == {owed[0].post.id}
    assert await outbox.claim([owed[0].post.id], token="b", now=NOW) == set()
    again = await runs.owe_run(
        digest, period_start=NOW - timedelta(days=1), period_end=NOW, late=False, now=NOW
    )
    assert again is None  # being posted by "a"
    assert [r.state for r in await runs.runs(digest.id)] == [POSTING]
    await outbox.mark_posted([owed[0].post.id], ts="1.2", posted_as="digest", now=NOW)
    assert await runs.last_posted_end(digest.id) == NOW
    assert [r.state for r in await runs.runs(digest.id)] == [POSTED]
    # A released claim (the post certainly did not happen) is owed again.
    other = await runs.owe_run(
        digest, period_start=NOW, period_end=NOW + timedelta(days=1), late=True, now=NOW
    )
    assert other is not None
    await outbox.claim([other.post.id], token="c", now=NOW)
    assert await runs.has_run(digest.id, NOW + timedelta(days=1))
    await outbox.release([other.post.id], error="ratelimited")
    assert not await runs.has_run(digest.id, NOW + timedelta(days=1))
    assert await runs.owe_run(
        digest, period_start=NOW, period_end=NOW + timedelta(days=1), late=True, now=NOW
    )
    # Removing the schedule removes its runs and what they owed.
    assert await store.remove_channel_digest("C1")
    assert await runs.runs(digest.id) == []
    assert await outbox.count(producer="digest") == 0


async def test_a_period_released_then_overdue_is_skipped_once(engine: AsyncEngine) -> None:
    store, runs, outbox = DigestStore(engine), DigestRuns(engine), OutboxStore(engine)
    digest = await store.set_channel_digest(
        "C1", cron="0 9 * * *", timezone="UTC", created_by=None, now=NOW
    )
    run = await runs.owe_run(digest, period_start=NOW, period_end=NOW, late=False, now=NOW)
    assert run is not None
    await outbox.claim([run.post.id], token="a", now=NOW)
    await outbox.release([run.post.id], error="ratelimited")  # owed again, then too late
    assert await runs.skip_run(digest, period_end=NOW, now=NOW)
    assert not await runs.skip_run(digest, period_end=NOW, now=NOW)
    assert [r.state for r in await runs.runs(digest.id)] == [SKIPPED]
    assert await runs.has_run(digest.id, NOW)
    later = NOW + timedelta(days=1)
    assert await runs.skip_run(digest, period_end=later, now=NOW)
    assert [r.state for r in await runs.runs(digest.id)] == [SKIPPED, SKIPPED]
