"""Filling the bot's store with cards already posted, through the ledger's own life cycle
(enqueue, claim in the outbox, mark posted), for benchmarks starting from a steady state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.card.state import CARD
from bot.card.state import revision as card_revision
from bot.card.store import CardStore, NewCard
from bot.outbox.store import OutboxStore
from bot.sentry.models import Issue
from bot.store.database import create_engine
from bot.store.migrations import migrate

BATCH = 1_000


@dataclass(frozen=True, slots=True)
class PostedCard:
    issue: Issue
    channel: str
    ts: str
    posted_at: datetime


async def prefill_posted(url: str, cards: Sequence[PostedCard], *, now: datetime) -> None:
    """Record every card as posted (in batches), exactly as delivery would have."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        store, outbox = CardStore(engine), OutboxStore(engine)
        for start in range(0, len(cards), BATCH):
            chunk = {(c.channel, c.issue.id): c for c in cards[start : start + BATCH]}
            await store.enqueue(
                [
                    NewCard(
                        channel=c.channel,
                        issue_id=c.issue.id,
                        route_id=None,
                        project=c.issue.project.slug,
                        first_seen=c.issue.first_seen,
                    )
                    for c in chunk.values()
                ]
            )
            owed = await store.owed()
            claimed = await outbox.claim([r.post.id for r in owed], token="prefill", now=now)
            for row in owed:
                card = chunk.get((row.channel, row.issue_id))
                if card is None or row.post.id not in claimed:
                    continue
                await outbox.mark_posted(
                    [row.post.id], ts=card.ts, posted_as=CARD, now=card.posted_at
                )
                await store.record_drawn(
                    row.id,
                    rendered=card_revision(card.issue),
                    status=card.issue.status,
                    substatus=card.issue.substatus,
                )
        assert await store.count(state="posted") == len(cards)
    finally:
        await engine.dispose()
