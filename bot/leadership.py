"""Leadership of polling: the `poller` lease taken, renewed, released, and taken over from a
replica that stopped renewing it.

One replica at a time polls: the holder of the lease. The lease lives one poll interval (at
least `MIN_TTL`) and is renewed by a job every third of that, but never more often than once
per `RENEW_FLOOR`: one UPDATE a second at the shortest intervals, not three. A poll cycle
asks the database itself only when that job has not renewed the lease lately. A dead leader
is replaced within its lease's time-to-live plus one renewal period: about 1.4 intervals for
intervals of 3 s and more, 3 s at the shortest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.metrics import Metrics
from bot.store.leases import LeaseStore

logger = logging.getLogger(__name__)

POLL_LEASE = "poller"
RENEW_FLOOR = timedelta(seconds=1)
MIN_TTL = timedelta(seconds=2)


def lease_timing(interval_seconds: int) -> tuple[timedelta, timedelta]:
    """(time-to-live, renewal period) of the poll lease at this poll interval."""
    ttl = max(timedelta(seconds=interval_seconds), MIN_TTL)
    return ttl, max(ttl / 3, RENEW_FLOOR)


class Leadership:
    """This replica's hold on the poll lease.

    `on_gained(poll_now)` runs when the lease is taken (at start, or over from a dead
    leader); `poll_now` is True when it was taken by the renewal job rather than by a
    poll cycle, so polling should start at once instead of at the next scheduled run.
    """

    def __init__(
        self,
        leases: LeaseStore,
        *,
        instance: str,
        interval_seconds: int,
        metrics: Metrics,
        clock: Callable[[], datetime],
        on_gained: Callable[[bool], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._leases = leases
        self.instance = instance
        self.ttl, self.renew_every = lease_timing(interval_seconds)
        self._metrics = metrics
        self._clock = clock
        self._on_gained = on_gained
        self._monotonic = monotonic
        self._renewed_at: float | None = None
        self.leader = False

    async def hold(self) -> bool:
        """The poll cycle's check: True while this replica leads. The database is asked only
        when the renewal job has not renewed the lease lately (it has at least half a renewal
        period left)."""
        if self._renewed_within(self.ttl - self.renew_every / 2):
            return True
        return await self._acquire(poll_now=False)

    async def renew(self) -> None:
        """The renewal job, every renewal period: keep the lease, or take it over once its
        holder let it expire."""
        await self._acquire(poll_now=True)

    def _renewed_within(self, period: timedelta) -> bool:
        renewed = self._renewed_at
        return (
            self.leader
            and renewed is not None
            and self._monotonic() - renewed < period.total_seconds()
        )

    async def _acquire(self, *, poll_now: bool) -> bool:
        started = self._monotonic()
        try:
            held = await self._leases.acquire(
                POLL_LEASE, holder=self.instance, ttl=self.ttl, now=self._clock()
            )
        except Exception:
            logger.exception("cannot reach the database to renew the poll lease")
            held = False
        self._renewed_at = started if held else None
        if held != self.leader:
            logger.info(
                "this replica %s polling (%s)", "now leads" if held else "stopped", self.instance
            )
        gained = held and not self.leader
        self.leader = held
        self._metrics.leader.set(1 if held else 0)
        if gained:
            self._on_gained(poll_now)
        return held

    async def release(self) -> None:
        """Give the lease up at a clean shutdown, so another replica takes over at once."""
        if not self.leader:
            return
        try:
            await self._leases.release(POLL_LEASE, holder=self.instance)
        except Exception:
            logger.exception("could not release the poll lease; it expires by itself")
