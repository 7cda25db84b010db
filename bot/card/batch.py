"""How many tracked cards the card refresh compares with Sentry per cycle.

One rule for alert cards (`bot.alerts.walk`) and unfurled cards (`bot.unfurls.live`): half of
those tracked, at least `MIN_BATCH`, at most `MAX_BATCH`. Up to 2 * `MAX_BATCH` cards, every card
is compared at least every two cycles; beyond that every card once every
ceil(tracked / `MAX_BATCH`) cycles, so a cycle's cost stays bounded (`MAX_BATCH` is 10 Sentry
requests of 100 issues).
"""

from __future__ import annotations

import math
from typing import Final

MIN_BATCH: Final = 100
MAX_BATCH: Final = 1_000


def batch_size(tracked: int, *, min_batch: int = MIN_BATCH, max_batch: int = MAX_BATCH) -> int:
    """Half the tracked cards, at least `min_batch` and at most `max_batch`."""
    return min(max_batch, max(min_batch, math.ceil(tracked / 2)))
