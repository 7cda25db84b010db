"""Which tracked cards the card refresh compares each cycle: a walk through them in id order.

The walk goes round and round the tracked cards (posted as cards, younger than the retention
window), lowest id first, taking the next batch after the last card compared each cycle and
starting over from the lowest id once the newest is passed. A batch is half the tracked cards
(at least `min_batch`, at most `max_batch`), so every card comes round at least every two
cycles up to 2 * `max_batch` cards, and every ceil(cards / `max_batch`) cycles beyond.

Reading a batch costs its own size (the cards are walked by primary key, each card's outbox
row looked up by its key), and nothing is written for the cards that did not change. The
walk only moves on once its caller has compared a batch (`advance`): cards that could not be
compared are taken again next cycle.

How many cards are tracked is counted every cycle while there are fewer than 2 * `max_batch`
(cheap then: the count reads one index entry per tracked card). With more, the batch is
`max_batch` whatever their number, so they are counted whole every `census_every` cycles and
in between only the cards posted since are added, so that a new card is walked at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.card.batch import MAX_BATCH, MIN_BATCH, batch_size
from bot.card.store import CardStore, TrackedCard, TrackedCensus

CENSUS_EVERY = 60
# Cards posted since a census are looked up from a little before it, so that none posted
# while it was taken is missed (one counted twice only makes the batch larger).
CENSUS_OVERLAP = timedelta(minutes=1)


class TrackedWalk:
    def __init__(
        self,
        cards: CardStore,
        *,
        min_batch: int = MIN_BATCH,
        max_batch: int = MAX_BATCH,
        census_every: int = CENSUS_EVERY,
    ) -> None:
        self._cards = cards
        self._min_batch = min_batch
        self._max_batch = max_batch
        self._census_every = census_every
        # The last card id compared, and the last whole census with the cycles it is
        # still trusted for and when it was taken.
        self._after = 0
        self._census: TrackedCensus | None = None
        self._census_left = 0
        self._census_at: datetime | None = None

    async def next(self, *, now: datetime, posted_since: datetime) -> list[TrackedCard]:
        """The next cards to compare, in walk order (none when no card is tracked)."""
        census = await self._take_census(now, posted_since)
        if not census.count:
            self._after = 0
            return []
        limit = batch_size(census.count, min_batch=self._min_batch, max_batch=self._max_batch)
        # Every card fits in one batch: one read of them all, lowest id first.
        whole = census.count <= limit
        start = census.first_id - 1 if whole else max(self._after, census.first_id - 1)
        rows = await self._cards.tracked(posted_since=posted_since, after=start, limit=limit)
        if len(rows) < limit and not whole:
            # Past the newest card: on from the lowest, up to the batch.
            seen = {row.id for row in rows}
            wrapped = await self._cards.tracked(
                posted_since=posted_since, after=census.first_id - 1, limit=limit - len(rows)
            )
            rows += [row for row in wrapped if row.id not in seen]
        return rows

    def advance(self, after: int) -> None:
        """The cards up to `after` (in walk order) were compared: go on from there."""
        self._after = after

    async def _take_census(self, now: datetime, posted_since: datetime) -> TrackedCensus:
        base = self._census
        if (
            base is None
            or self._census_at is None
            or base.count < 2 * self._max_batch
            or self._census_left <= 0
        ):
            self._census = await self._cards.census(posted_since=posted_since)
            self._census_at = now
            self._census_left = self._census_every
            return self._census
        self._census_left -= 1
        fresh = await self._cards.census(posted_since=self._census_at - CENSUS_OVERLAP)
        if not fresh.count:
            return base
        return TrackedCensus(
            count=base.count + fresh.count, first_id=min(base.first_id, fresh.first_id)
        )
