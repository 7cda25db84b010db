"""The card ledger: exactly one card per (channel, issue), and what each card shows.

Enqueueing a card owes it in the outbox (key `issue:<id>`, `bot/card/state.py`) in the same
transaction that records the card, so the unique (channel, issue) key makes enqueueing
idempotent and the outbox's claim makes posting exactly once. Whether and where a card is
posted is its outbox row's (`CardRow.post`): a card may go out in a storm summary, and only
cards posted as cards are kept current.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.card.state import CARD, PRODUCER, card_key
from bot.outbox import store as outbox_store
from bot.outbox.store import GONE, OWED, POSTED, Entry, OutboxRow, post_of, with_post
from bot.store.schema import cards, outbox


@dataclass(frozen=True, slots=True)
class NewCard:
    channel: str
    issue_id: str
    route_id: int | None
    project: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class CardRow:
    """A card and its outbox row (`post`: owed, posting, posted as a card or a summary…)."""

    id: int
    channel: str
    issue_id: str
    route_id: int | None
    project: str
    first_seen: datetime
    rendered: str | None
    status: str | None
    substatus: str | None
    last_action: str | None
    checked_at: datetime | None
    post: OutboxRow

    @property
    def message_ts(self) -> str | None:
        return self.post.message_ts

    @property
    def shown_as_card(self) -> bool:
        """Posted as its own card (not inside a storm summary): it can be kept current."""
        return self.post.state == POSTED and self.post.posted_as == CARD and bool(self.message_ts)


@dataclass(frozen=True, slots=True)
class TrackedCard:
    """What the refresh compares with Sentry: a card's id, its issue and what it shows. The
    whole row (`CardRow`) is read only for the cards that changed."""

    id: int
    issue_id: str
    rendered: str | None


@dataclass(frozen=True, slots=True)
class TrackedCensus:
    """The cards kept current: how many, and the lowest card id among them (0 if none)."""

    count: int
    first_id: int


_CARD_FIELDS = tuple(name for name in CardRow.__dataclass_fields__ if name != "post")
_JOINED = with_post(cards, _CARD_FIELDS)


def _row(row: sa.Row[tuple[object, ...]]) -> CardRow:
    return CardRow(**{name: row._mapping[name] for name in _CARD_FIELDS}, post=post_of(row))


def _tracked(posted_since: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.state == POSTED, outbox.c.posted_as == CARD, outbox.c.posted_at >= posted_since
    )


def _insert_cards_ignoring_duplicates(conn: AsyncConnection) -> sa.Insert:
    keys = ["channel", "issue_id"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(cards).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(cards).on_conflict_do_nothing(index_elements=keys)


class CardStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(self, entries: Sequence[NewCard]) -> int:
        """Owe these issues' cards to their channels; duplicates are ignored. How many new."""
        if not entries:
            return 0
        async with self._engine.begin() as conn:
            added = await outbox_store.add(
                conn,
                [
                    Entry(e.channel, card_key(e.issue_id), PRODUCER, due_at=e.first_seen)
                    for e in entries
                ],
            )
            fresh = [e for e in entries if (e.channel, card_key(e.issue_id)) in added]
            if fresh:
                await conn.execute(
                    _insert_cards_ignoring_duplicates(conn),
                    [
                        {
                            "channel": e.channel,
                            "issue_id": e.issue_id,
                            "route_id": e.route_id,
                            "project": e.project,
                            "first_seen": e.first_seen,
                            "outbox_id": added[(e.channel, card_key(e.issue_id))],
                        }
                        for e in fresh
                    ],
                )
            return len(fresh)

    async def owed(self) -> list[CardRow]:
        """Every owed card, oldest issue first (the order cards are delivered in)."""
        return await self._select(
            _JOINED.where(outbox.c.state == OWED).order_by(outbox.c.due_at, outbox.c.id)
        )

    async def for_issue(self, issue_id: str) -> list[CardRow]:
        return await self._select(_JOINED.where(cards.c.issue_id == issue_id).order_by(cards.c.id))

    async def get(self, card_id: int) -> CardRow | None:
        found = await self._select(_JOINED.where(cards.c.id == card_id))
        return found[0] if found else None

    async def tracked(
        self, *, posted_since: datetime, limit: int, after: int = 0
    ) -> list[TrackedCard]:
        """Cards posted as cards, young enough to keep current, with an id above `after`, in
        id order: three columns each, since a refresh compares a thousand of them every cycle.

        The cards are walked in primary-key order and each one's outbox row is looked up by
        its key, so a batch costs its own size, not a sort of every tracked card.
        """
        query = (
            sa.select(cards.c.id, cards.c.issue_id, cards.c.rendered)
            .where(
                cards.c.id > after,
                sa.exists().where(outbox.c.id == cards.c.outbox_id, _tracked(posted_since)),
            )
            .order_by(cards.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [TrackedCard(*row) for row in await conn.execute(query)]

    async def census(self, *, posted_since: datetime) -> TrackedCensus:
        """How many cards are kept current, and the lowest of their ids (where a walk
        through them begins); read from the outbox's posted index alone."""
        query = (
            sa.select(sa.func.count(), sa.func.min(cards.c.id))
            .select_from(cards.join(outbox, cards.c.outbox_id == outbox.c.id))
            .where(_tracked(posted_since))
        )
        async with self._engine.connect() as conn:
            count, first = (await conn.execute(query)).one()
            return TrackedCensus(count=int(count), first_id=int(first or 0))

    async def rows(self, card_ids: Sequence[int]) -> list[CardRow]:
        """The whole rows of these cards, in id order."""
        if not card_ids:
            return []
        return await self._select(
            _JOINED.where(cards.c.id.in_(list(card_ids))).order_by(cards.c.id)
        )

    async def count_tracked(self, *, posted_since: datetime) -> int:
        return (await self.census(posted_since=posted_since)).count

    async def count(self, *, state: str | None = None) -> int:
        """Cards, or those whose outbox row is in `state`."""
        query = sa.select(sa.func.count()).select_from(
            cards.join(outbox, cards.c.outbox_id == outbox.c.id)
        )
        if state is not None:
            query = query.where(outbox.c.state == state)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def settle_gone(self, rows: Sequence[CardRow], *, now: datetime) -> None:
        """Owed cards whose issue no longer exists: closed without a message."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_([r.post.id for r in rows]), outbox.c.state == OWED)
                .values(state=GONE, posted_at=now)
            )

    async def record_drawn(
        self, card_id: int, *, rendered: str, status: str, substatus: str | None
    ) -> None:
        """What a card just posted shows (it is compared with Sentry like any other)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards)
                .where(cards.c.id == card_id)
                .values(rendered=rendered, status=status, substatus=substatus)
            )

    async def set_rendered(
        self,
        card_ids: Sequence[int],
        *,
        rendered: str | None,
        status: str | None,
        substatus: str | None,
        now: datetime,
        last_action: str | None = None,
    ) -> None:
        """Record what cards now show (and, when given, the last triage action line)."""
        values: dict[str, object] = {
            "rendered": rendered,
            "status": status,
            "substatus": substatus,
            "checked_at": now,
        }
        if last_action is not None:
            values["last_action"] = last_action
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(cards).where(cards.c.id.in_(list(card_ids))).values(**values)
            )

    async def _select(self, query: sa.Select[tuple[object, ...]]) -> list[CardRow]:
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]
