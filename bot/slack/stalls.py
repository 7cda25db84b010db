"""What holds posts back: channels Slack rate-limits, and posts whose outcome cannot be settled.

One board shared by every producer of posts (cards, storm summaries, thread replies, digests).
A channel rate-limited by Slack is parked until its `Retry-After` has passed: its posts wait,
every other channel carries on. A post whose outcome is unknown and whose channel cannot be
read back (history unreadable, joining impossible) stays unposted rather than risk a second
copy; after SETTLE_ATTEMPTS failed reconciliations it is surfaced, naming the channel, the
post and why, until it settles. Both show on `/healthz` and in `/metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.metrics import Metrics

logger = logging.getLogger(__name__)

SETTLE_ATTEMPTS: Final = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Unsettled:
    channel: str
    what: str
    reason: str
    attempts: int


class Stalls:
    """Rate-limited channels and unsettled posts, with what an operator should know."""

    def __init__(self, *, metrics: Metrics, clock: Callable[[], datetime] = _utc_now) -> None:
        self._metrics = metrics
        self._clock = clock
        self._limited: dict[str, datetime] = {}
        self._unsettled: dict[tuple[str, str], Unsettled] = {}

    def now(self) -> datetime:
        return self._clock()

    # rate limits ---------------------------------------------------------------------------

    def limit(self, channel: str, seconds: float) -> datetime:
        """Park `channel` for `seconds` (never shortening a longer limit); when it ends."""
        until = self._clock() + timedelta(seconds=seconds)
        until = max(until, self._limited.get(channel, until))
        self._limited[channel] = until
        self._metrics.channel_rate_limited.labels(channel).set(until.timestamp())
        return until

    def limited_until(self, channel: str) -> datetime | None:
        """When `channel`'s rate limit ends, or None when it may be posted to now."""
        until = self._limited.get(channel)
        if until is None:
            return None
        if until <= self._clock():
            del self._limited[channel]
            self._metrics.channel_rate_limited.remove(channel)
            return None
        return until

    def limited(self) -> dict[str, datetime]:
        return {c: u for c in list(self._limited) if (u := self.limited_until(c)) is not None}

    # settlement ----------------------------------------------------------------------------

    def settle_failed(self, kind: str, key: str, *, channel: str, what: str, reason: str) -> int:
        """One more failed attempt to settle a post; how many so far."""
        previous = self._unsettled.get((kind, key))
        attempts = (previous.attempts if previous else 0) + 1
        self._unsettled[(kind, key)] = Unsettled(channel, what, reason, attempts)
        self._count(kind)
        if attempts == SETTLE_ATTEMPTS:
            logger.error(
                "a post to %s (%s) cannot be settled after %d attempts: %s",
                channel,
                what,
                attempts,
                reason,
            )
        return attempts

    def settled(self, kind: str, key: str) -> None:
        if self._unsettled.pop((kind, key), None) is not None:
            self._count(kind)

    def retain(self, kind: str, keys: Iterable[str]) -> None:
        """Forget posts of `kind` no longer in flight (settled elsewhere, e.g. by a replica)."""
        keep = set(keys)
        for stale in [k for k in self._unsettled if k[0] == kind and k[1] not in keep]:
            del self._unsettled[stale]
        self._count(kind)

    def unsettled(self) -> list[Unsettled]:
        return [u for u in self._unsettled.values() if u.attempts >= SETTLE_ATTEMPTS]

    def _count(self, kind: str) -> None:
        stuck = sum(
            1
            for (k, _), u in self._unsettled.items()
            if k == kind and u.attempts >= SETTLE_ATTEMPTS
        )
        self._metrics.posts_unsettled.labels(kind).set(stuck)

    # health --------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """One line per parked channel and per unsettled post, for `/healthz`."""
        lines = [
            f"Slack is rate-limiting posts to {channel} until {until.isoformat()}; its posts "
            "wait until then, other channels carry on"
            for channel, until in sorted(self.limited().items())
        ]
        lines += [
            f"A post to {u.channel} ({u.what}) cannot be settled after {u.attempts} attempts: "
            f"{u.reason}. It is not posted again until the bot can read the channel"
            for u in sorted(self.unsettled(), key=lambda u: (u.channel, u.what))
        ]
        return lines
