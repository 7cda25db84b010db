"""Crontab expressions (crontab(5)) as apscheduler cron triggers.

In crontab, day-of-week 0 and 7 are Sunday and 1 is Monday; apscheduler 3.x reads 0 as
Monday (the warning on `CronTrigger.from_crontab`, apscheduler issue #286), so
`0 9 * * 1-5` would fire Tuesday to Saturday. The day-of-week field is therefore
rewritten as day names before apscheduler reads it.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _dow_numbers(part: str) -> set[int]:
    """Crontab day numbers (0 = Sunday) named by one comma-separated part of the field."""
    base, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"invalid step in day-of-week {part!r}")
    if base == "*":
        first, last = 0, 6
    else:
        low, _, high = base.partition("-")
        first = _dow_number(low)
        last = _dow_number(high) if high else (6 if step_text else first)
        if high in {"7", "sun"} and first > 0:
            last = 7
    if last < first:
        raise ValueError(f"day-of-week range {base!r} runs backwards")
    return {day % 7 for day in range(first, last + 1, step)}


def _dow_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in _DAY_NAMES and len(token) == 3:
        return _DAY_NAMES.index(token)
    raise ValueError(f"invalid day of week {token!r}")


def crontab_day_of_week(field: str) -> str:
    """The crontab day-of-week field as apscheduler day names (`1-5` → `mon,tue,wed,thu,fri`)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        days |= _dow_numbers(part)
    return ",".join(_DAY_NAMES[day] for day in sorted(days, key=lambda d: (d - 1) % 7))


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """apscheduler's cron trigger for a crontab expression, with crontab's day numbering."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} is not a five-field crontab expression")
    fields[4] = crontab_day_of_week(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(timezone))
