"""What a digest reports for one channel and period, as gathered from Sentry (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.sentry.models import Issue, Release

REGRESSED = "regressed"
ESCALATING = "escalating"


@dataclass(frozen=True, slots=True)
class DigestContent:
    """One digest's facts; totals come from Sentry's `X-Hits`, lists are the first page.

    `projects=()` means every project. `active` holds the unresolved issues seen in the period,
    most events first; regressed and escalating issues are read from their `substatus` among
    those. `scheduled_for` is set when the digest is posted late (the time it was due).
    """

    projects: tuple[str, ...]
    period_start: datetime
    period_end: datetime
    new_issues: tuple[Issue, ...]
    new_total: int
    active: tuple[Issue, ...]
    active_total: int
    resolved: int
    ignored: int
    releases: tuple[Release, ...]
    top: int = 10
    scheduled_for: datetime | None = None
    on_demand: bool = False
    new_search_url: str = ""
    active_search_url: str = ""

    @property
    def regressed(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.active if i.substatus == REGRESSED)

    @property
    def escalating(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.active if i.substatus == ESCALATING)

    @property
    def empty(self) -> bool:
        return not (
            self.new_total
            or self.active_total
            or self.new_issues
            or self.active
            or self.resolved
            or self.ignored
            or self.releases
        )
