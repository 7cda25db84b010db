"""Digest schedules as pure time arithmetic: fire times, periods, and the late-or-skip decision.

A digest's schedule is a five-field crontab expression read in an IANA time zone. The
fire times come from apscheduler's `CronTrigger` (docs: apscheduler.readthedocs.io, "cron"
trigger), with two corrections that make it match crontab(5):

* Day-of-week numbers. In crontab 0 and 7 are Sunday and 1 is Monday; apscheduler 3.x reads 0 as
  Monday (the warning on `CronTrigger.from_crontab`, apscheduler issue #286), so `0 9 * * 1-5`
  would fire Tuesday to Saturday. `crontab_trigger` rewrites the field as day names.
* The autumn overlap. When clocks go back, a wall time such as 02:30 happens twice; apscheduler
  returns both instants (and, asked again just after the second, the second again). A digest
  fires once, at the first instant: `next_fire` drops the repeated wall time. In the spring gap,
  a wall time that does not exist fires at the same UTC offset as before the switch (an hour
  later in local time), once, as apscheduler does.

Every function takes the moment it reasons about (`now`, `after`); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.crontab import crontab_trigger

_TICK: Final = timedelta(microseconds=1)
# How far back `previous_fire` looks, in growing steps: a minute-level cron is found in the
# first window, a yearly one (`0 0 29 2 *` fires every four years) in the last.
_LOOKBACK: Final = (
    timedelta(minutes=2),
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=35),
    timedelta(days=400),
    timedelta(days=1500),
)
# A run of the catch-up never takes a period that the scheduler job of this process will post
# itself: one that came due after the process started, less than this long ago.
JOB_GRACE: Final = timedelta(seconds=10)
# Longest period a digest covers when earlier periods were skipped (Sentry's issue search keeps
# 90 days; a month is what a reader can still use).
MAX_PERIOD: Final = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A crontab expression in a time zone; fire times are aware UTC datetimes."""

    cron: str
    timezone: str = "UTC"

    def trigger(self) -> CronTrigger:
        return crontab_trigger(self.cron, self.timezone)


def _repeated_wall_time(moment: datetime, zone: ZoneInfo) -> bool:
    """Is `moment` the second occurrence of its local wall time (the autumn overlap)?"""
    local = moment.astimezone(zone)
    first = local.replace(fold=0).astimezone(UTC)
    return first < moment.astimezone(UTC)


def next_fire(
    schedule: Schedule, after: datetime, *, trigger: CronTrigger | None = None
) -> datetime | None:
    """The first fire time strictly after `after` (None when the expression never fires again)."""
    trigger = trigger or schedule.trigger()
    zone = ZoneInfo(schedule.timezone)
    probe = after.astimezone(UTC)
    for _ in range(200):  # the autumn overlap of a minute-level cron skips up to an hour
        raw = trigger.get_next_fire_time(None, (probe + _TICK).astimezone(zone))
        if not isinstance(raw, datetime):
            return None
        found = raw.astimezone(UTC)
        if found > after and not _repeated_wall_time(found, zone):
            return found
        probe = max(found, probe) + timedelta(minutes=1) - _TICK
    raise RuntimeError(f"no usable fire time for {schedule.cron!r} after {after.isoformat()}")


def previous_fire(
    schedule: Schedule, at_or_before: datetime, *, trigger: CronTrigger | None = None
) -> datetime | None:
    """The latest fire time at or before `at_or_before` (None if none in about four years)."""
    trigger = trigger or schedule.trigger()
    for lookback in _LOOKBACK:
        found = None
        candidate = next_fire(schedule, at_or_before - lookback, trigger=trigger)
        while candidate is not None and candidate <= at_or_before:
            found = candidate
            candidate = next_fire(schedule, candidate, trigger=trigger)
        if found is not None:
            return found
    return None


def cron_period_start(schedule: Schedule, period_end: datetime) -> datetime:
    """Where the period ending at `period_end` begins: the fire time before it."""
    start = previous_fire(schedule, period_end - _TICK)
    if start is None or period_end - start > MAX_PERIOD:
        return period_end - MAX_PERIOD
    return start


def period_start(
    schedule: Schedule, period_end: datetime, *, previous_end: datetime | None
) -> datetime:
    """The start of a digest's period: since the previous digest, or the cron period.

    `previous_end` is the end of the last digest this schedule posted. Periods skipped while the
    bot was down are folded into the next one, so nothing falls between two digests; a period is
    never longer than MAX_PERIOD.
    """
    start = cron_period_start(schedule, period_end)
    if previous_end is not None and previous_end < start:
        start = max(previous_end, period_end - MAX_PERIOD)
    return start


@dataclass(frozen=True, slots=True)
class Due:
    """What the catch-up does about a schedule's latest fire time."""

    action: Literal["none", "post", "skip"]
    period_end: datetime | None = None
    late: bool = False
    lateness: timedelta = timedelta(0)


def catch_up_decision(
    schedule: Schedule,
    *,
    now: datetime,
    created_at: datetime,
    started_at: datetime,
    already_recorded: bool,
) -> Due:
    """Decide about the latest fire time at or before `now` that the scheduler may have missed.

    * none: no fire time since the digest was created, it is already in the ledger, or this
      process's own scheduler job posts it (it came due after start, less than JOB_GRACE ago);
    * post (late): it came due while the bot was down (or its job failed) less than one period
      ago; `late` is set when it is more than JOB_GRACE overdue, and the digest says so;
    * skip: it is a whole period or more overdue: the next digest covers the time instead.
    """
    due = previous_fire(schedule, now)
    if due is None or due <= created_at or already_recorded:
        return Due("none")
    lateness = now - due
    if due >= started_at and lateness < JOB_GRACE:
        return Due("none")
    period = due - cron_period_start(schedule, due)
    if lateness >= period:
        return Due("skip", period_end=due, lateness=lateness)
    return Due("post", period_end=due, late=lateness > JOB_GRACE, lateness=lateness)


class DigestTrigger(BaseTrigger):  # type: ignore[misc]
    """An apscheduler trigger firing at `next_fire` times, so the scheduler sees crontab semantics.

    apscheduler 3.x asks `get_next_fire_time(previous_fire_time, now)` for the first fire time at
    or after `now` and after the previous one (apscheduler's BaseTrigger contract).
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._trigger = schedule.trigger()

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = now - _TICK
        if previous_fire_time is not None:
            after = max(after, previous_fire_time)
        return next_fire(self.schedule, after, trigger=self._trigger)

    def __str__(self) -> str:
        return f"digest[{self.schedule.cron} {self.schedule.timezone}]"
