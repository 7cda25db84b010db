"""A comeback noticed by two processes at once (the poll's card refresh and a replica acting on
a webhook) owes one thread reply, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.card.replies import ReplyStore
from bot.card.store import CardStore, NewCard
from bot.outbox.store import OutboxStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_a_comeback_noticed_twice_owes_one_reply(engine: AsyncEngine) -> None:
    cards, outbox, replies = CardStore(engine), OutboxStore(engine), ReplyStore(engine)
    await cards.enqueue([NewCard("C1", "7", 1, "web", T0)])
    [owed] = await cards.owed()
    await outbox.claim([owed.post.id], token="t", now=T0)
    await outbox.mark_posted([owed.post.id], ts="1.000100", posted_as="card", now=T0)
    await cards.record_drawn(owed.id, rendered="resolved||", status="resolved", substatus=None)
    [shown] = await cards.for_issue("7")

    def record() -> asyncio.Future[bool]:
        return asyncio.ensure_future(
            replies.record_comeback(
                shown,
                kind="regressed",
                rendered="unresolved|regressed|",
                status="unresolved",
                substatus="regressed",
                now=T0,
            )
        )

    outcomes = await asyncio.gather(record(), record(), record())
    assert sorted(outcomes) == [False, False, True]
    assert [r.seq for r in await replies.for_card(shown.id)] == [1]
    [now] = await cards.for_issue("7")
    assert (now.status, now.substatus) == ("unresolved", "regressed")
    # Regressed again later (resolved in between): a new comeback, a new reply.
    await cards.record_drawn(now.id, rendered="resolved||", status="resolved", substatus=None)
    [again] = await cards.for_issue("7")
    assert await replies.record_comeback(
        again,
        kind="regressed",
        rendered="unresolved|regressed|",
        status="unresolved",
        substatus="regressed",
        now=T0,
    )
    assert [r.seq for r in await replies.for_card(shown.id)] == [1, 2]
