"""The digest store: file sync keeps ids, a Slack digest replaces the last, runs claim once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config_file import DigestSpec
from bot.store.digests import POSTED, POSTING, DigestStore

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


async def test_a_period_is_claimed_once(engine: AsyncEngine) -> None:
    store = DigestStore(engine)
    digest = await store.set_channel_digest(
        "C1", cron="0 9 * * *", timezone="UTC", created_by=None, now=NOW
    )
    claims = [
        await store.claim_run(
            digest,
            period_start=NOW - timedelta(days=1),
            period_end=NOW,
            late=False,
            token=t,
            now=NOW,
        )
        for t in ("a", "b")
    ]
    assert claims[0] is not None
    assert claims[0].state == POSTING
    assert claims[1] is None
    assert await store.in_flight(claimed_before=NOW + timedelta(minutes=3)) == [claims[0]]
    await store.mark_posted(claims[0].id, ts="1.2", now=NOW)
    assert await store.last_posted_end(digest.id) == NOW
    assert [r.state for r in await store.runs(digest.id)] == [POSTED]
    # A released claim (the post certainly did not happen) can be claimed again.
    other = await store.claim_run(
        digest, period_start=NOW, period_end=NOW + timedelta(days=1), late=True, token="c", now=NOW
    )
    assert other is not None
    await store.release(other.id)
    assert not await store.has_run(digest.id, NOW + timedelta(days=1))
