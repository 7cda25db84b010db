"""The unfurl ledger on SQLite and PostgreSQL: an unfurl is one row however many replicas record
it at once, a redraw records what it drew, old unfurls are pruned and a gone message dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.unfurls.event import UnfurlTarget
from bot.unfurls.live import LiveUnfurls
from bot.unfurls.store import NewUnfurl, UnfurlStore
from tests.unit.test_card import make_issue

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LINK = "https://sentry.example.com/organizations/acme/issues/42/"


def unfurl(
    url: str = "https://sentry.example.com/organizations/acme/issues/42/", **kw: str
) -> NewUnfurl:
    values: dict[str, str] = {
        "channel": "C1",
        "message_ts": "1.000100",
        "issue_id": "42",
        "rendered": "unresolved|ongoing|",
        "blocks": "[]",
        **kw,
    }
    return NewUnfurl(
        channel=values["channel"],
        message_ts=values["message_ts"],
        unfurl_id="C1.1000100.abc",
        source="conversations_history",
        url=url,
        issue_id=values["issue_id"],
        rendered=values["rendered"],
        blocks=values["blocks"],
    )


async def test_an_unfurl_recorded_by_several_replicas_at_once_is_one_row(
    engine: AsyncEngine,
) -> None:
    stores = [UnfurlStore(engine) for _ in range(4)]
    await asyncio.gather(*(store.record([unfurl()], now=NOW) for store in stores))
    [row] = await stores[0].for_issue("42")
    assert (row.channel, row.message_ts, row.unfurl_id, row.source) == (
        "C1",
        "1.000100",
        "C1.1000100.abc",
        "conversations_history",
    )
    assert await stores[0].count() == 1
    assert await stores[0].follows("42")
    assert not await stores[0].follows("43")


async def test_the_same_link_shared_again_in_the_message_overwrites_its_row(
    engine: AsyncEngine,
) -> None:
    store = UnfurlStore(engine)
    await store.record([unfurl()], now=NOW)
    await store.record([unfurl(rendered="resolved||", blocks='[{"type":"divider"}]')], now=NOW)
    [row] = await store.for_message("C1", "1.000100")
    assert (row.rendered, row.blocks) == ("resolved||", '[{"type":"divider"}]')


async def test_a_redraw_records_what_it_drew_and_the_least_recently_checked_come_first(
    engine: AsyncEngine,
) -> None:
    store = UnfurlStore(engine)
    await store.record([unfurl(), unfurl("https://x/2", issue_id="43")], now=NOW)
    first, second = await store.tracked(limit=10)
    await store.drawn(
        [first.id], rendered="resolved||", blocks="[1]", last_action='{"v":1}', now=NOW
    )
    await store.mark_checked([second.id], now=NOW + timedelta(seconds=1))
    found = await store.find(
        "C1", "1.000100", "https://sentry.example.com/organizations/acme/issues/42/"
    )
    assert found is not None
    assert (found.rendered, found.blocks, found.last_action) == ("resolved||", "[1]", '{"v":1}')
    await store.drawn([first.id], rendered="unresolved||", blocks="[2]", last_action=None, now=NOW)
    again = await store.find(found.channel, found.message_ts, found.url)
    assert again is not None
    assert again.last_action == '{"v":1}'  # a redraw without an action keeps the line shown
    assert [t.id for t in await store.tracked(limit=10)] == [first.id, second.id]
    assert len(await store.tracked(limit=1)) == 1


async def test_old_unfurls_are_pruned_and_a_gone_message_is_dropped(engine: AsyncEngine) -> None:
    store = UnfurlStore(engine)
    await store.record([unfurl()], now=NOW - timedelta(days=15))
    await store.record(
        [unfurl(message_ts="2.000200"), unfurl("https://x/2", message_ts="2.000200")], now=NOW
    )
    await store.record([unfurl(message_ts="3.000300")], now=NOW)
    assert await store.prune(before=NOW - timedelta(days=14)) == 1
    assert await store.drop_message("C1", "2.000200") == 2
    assert [r.message_ts for r in await store.for_issue("42")] == ["3.000300"]
    assert await store.drop_message("C1", "2.000200") == 0


class CountThatWaits(UnfurlStore):
    """The real store, whose count stops after reading until the test lets it return: so an
    unfurl can be recorded exactly while a poll cycle is counting."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.counted = asyncio.Event()
        self.go_on = asyncio.Event()

    async def count(self) -> int:
        found = await super().count()
        self.counted.set()
        await self.go_on.wait()
        return found


async def test_an_unfurl_recorded_while_a_cycle_counts_is_compared_at_the_next_cycle(
    engine: AsyncEngine,
) -> None:
    # A cycle's count that missed an unfurl recorded meanwhile must not be trusted for the
    # minute the count is otherwise kept, or the unfurl goes stale for that minute.
    store = CountThatWaits(engine)
    live = LiveUnfurls(
        store=store,
        screen=None,  # type: ignore[arg-type]  # neither is used by counting and recording
        draw=None,  # type: ignore[arg-type]
        clock=lambda: NOW,
        retention=timedelta(days=7),
    )
    cycle = asyncio.create_task(live.due())
    await store.counted.wait()  # the cycle read the count (0) and has not stored it yet
    issue = make_issue(id="42")
    target = UnfurlTarget(channel="C1", ts="1.000100", unfurl_id="C1.1000100.abc")
    await live.unfurled(target, {LINK: (issue, {"blocks": []})})
    store.go_on.set()
    assert await cycle == []
    [tracked] = await live.due()
    assert tracked.issue_id == "42"
