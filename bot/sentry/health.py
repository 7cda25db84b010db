"""What the Sentry client skipped or gave up on, for `/healthz`, `/metrics` and logging once.

One unreadable issue must not flood the log every poll cycle: each skipped object is logged the
first time it is seen (by kind and key), then only counted.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from bot.sentry.models import UnreadableItem

# How many distinct skipped objects are remembered for "log once" (oldest forgotten first).
REMEMBERED = 10_000


@dataclass
class SentryHealth:
    """Counters that only grow; readers compare them between two moments."""

    skipped: int = 0
    deadline_hits: int = 0
    too_large: int = 0
    last_skip: str | None = None
    last_deadline: str | None = None
    last_deadline_at: float | None = None
    last_too_large: str | None = None
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _recent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REMEMBERED))

    def note_skip(self, item: UnreadableItem) -> bool:
        """Count a skipped object; True the first time this object is seen (log it then)."""
        self.skipped += 1
        self.last_skip = str(item)
        key = f"{item.kind}:{item.key}:{item.reason}"
        self._recent.append((self.skipped, key))
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        return True

    def distinct_skipped_since(self, mark: int) -> int:
        """How many different objects were skipped after `skipped` was `mark` (one bad issue
        seen by several requests of a cycle counts once)."""
        return len({key for seq, key in self._recent if seq > mark})

    def note_deadline(self, what: str, at: float) -> None:
        self.deadline_hits += 1
        self.last_deadline = what
        self.last_deadline_at = at

    def note_too_large(self, what: str) -> None:
        self.too_large += 1
        self.last_too_large = what
