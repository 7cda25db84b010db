"""Digest schedules against an injected clock: DST both ways, weekday crons, late or skip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.crontab import crontab_day_of_week
from bot.digests.schedule import (
    JOB_GRACE,
    DigestTrigger,
    Schedule,
    catch_up_decision,
    next_fire,
    period_start,
    previous_fire,
)

BERLIN_9 = Schedule("0 9 * * *", "Europe/Berlin")


def fires(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    moment = after
    for _ in range(count):
        nxt = next_fire(schedule, moment)
        assert nxt is not None
        found.append(nxt)
        moment = nxt
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_nine_in_berlin_stays_nine_across_the_march_switch() -> None:
    # 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    got = fires(BERLIN_9, utc(2026, 3, 27, 12), 4)
    assert got == [
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),
        utc(2026, 3, 30, 7),
        utc(2026, 3, 31, 7),
    ]


def test_nine_in_berlin_stays_nine_across_the_october_switch() -> None:
    # 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET.
    got = fires(BERLIN_9, utc(2026, 10, 23, 12), 4)
    assert got == [
        utc(2026, 10, 24, 7),
        utc(2026, 10, 25, 8),
        utc(2026, 10, 26, 8),
        utc(2026, 10, 27, 8),
    ]


def test_a_wall_time_that_happens_twice_fires_once() -> None:
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    got = fires(schedule, utc(2026, 10, 24, 12), 3)
    assert got == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]


def test_a_wall_time_that_does_not_exist_fires_once() -> None:
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    got = fires(schedule, utc(2026, 3, 28, 12), 2)
    assert got == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_weekdays_use_crontab_numbering_and_skip_the_weekend() -> None:
    schedule = Schedule("0 9 * * 1-5", "Europe/Berlin")
    got = fires(schedule, utc(2026, 3, 26, 12), 3)  # a Thursday
    assert [f.strftime("%a") for f in got] == ["Fri", "Mon", "Tue"]
    # Monday's period covers the whole weekend, from Friday's digest on.
    monday = got[1]
    assert period_start(schedule, monday, previous_end=None) == got[0]


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "fri,sat,sun"),
        ("sat-sun", "sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("mon,wed", "mon,wed"),
    ],
)
def test_crontab_day_numbers_become_names(field: str, names: str) -> None:
    assert crontab_day_of_week(field) == names


def test_previous_fire_is_at_or_before() -> None:
    assert previous_fire(BERLIN_9, utc(2026, 3, 30, 7)) == utc(2026, 3, 30, 7)
    assert previous_fire(BERLIN_9, utc(2026, 3, 30, 6, 59)) == utc(2026, 3, 29, 7)
    assert previous_fire(Schedule("* * * * *"), utc(2026, 1, 1, 0, 0, 30)) == utc(2026, 1, 1)


def test_skipped_periods_fold_into_the_next_digest_up_to_a_month() -> None:
    end = utc(2026, 3, 30, 7)
    assert period_start(BERLIN_9, end, previous_end=utc(2026, 3, 27, 8)) == utc(2026, 3, 27, 8)
    assert period_start(BERLIN_9, end, previous_end=utc(2025, 1, 1)) == end - timedelta(days=31)
    assert period_start(BERLIN_9, end, previous_end=end) == utc(2026, 3, 29, 7)


def test_catch_up_posts_late_once_within_one_period() -> None:
    due = utc(2026, 3, 30, 7)
    now = due + timedelta(hours=5)
    decision = catch_up_decision(
        BERLIN_9, now=now, created_at=utc(2026, 1, 1), started_at=now, already_recorded=False
    )
    assert (decision.action, decision.period_end, decision.late) == ("post", due, True)
    again = catch_up_decision(
        BERLIN_9, now=now, created_at=utc(2026, 1, 1), started_at=now, already_recorded=True
    )
    assert again.action == "none"


def test_catch_up_skips_a_digest_overdue_by_a_whole_period() -> None:
    # Weekdays at 09:00 Berlin; the bot was down from Friday morning to Sunday noon. Friday's
    # digest (period Thursday to Friday, one day) is 2 days overdue: skipped, not posted.
    schedule = Schedule("0 9 * * 1-5", "Europe/Berlin")
    now = utc(2026, 3, 29, 10)
    decision = catch_up_decision(
        schedule, now=now, created_at=utc(2026, 1, 1), started_at=now, already_recorded=False
    )
    assert (decision.action, decision.period_end) == ("skip", utc(2026, 3, 27, 8))
    # Monday's digest then covers everything since Thursday's.
    assert period_start(schedule, utc(2026, 3, 30, 7), previous_end=utc(2026, 3, 26, 8)) == utc(
        2026, 3, 26, 8
    )


def test_catch_up_posts_a_per_minute_digest_missed_during_a_restart() -> None:
    schedule = Schedule("* * * * *")
    now = utc(2026, 3, 30, 9, 0, 40)
    decision = catch_up_decision(
        schedule, now=now, created_at=utc(2026, 1, 1), started_at=now, already_recorded=False
    )
    assert (decision.action, decision.period_end, decision.late) == (
        "post",
        utc(2026, 3, 30, 9),
        True,
    )


def test_the_scheduler_job_owns_fresh_periods_and_new_digests_owe_nothing() -> None:
    due = utc(2026, 3, 30, 7)
    fresh = catch_up_decision(
        BERLIN_9,
        now=due + JOB_GRACE / 2,
        created_at=utc(2026, 1, 1),
        started_at=due - timedelta(hours=1),
        already_recorded=False,
    )
    assert fresh.action == "none"
    brand_new = catch_up_decision(
        BERLIN_9,
        now=due + timedelta(hours=1),
        created_at=due + timedelta(minutes=30),
        started_at=due,
        already_recorded=False,
    )
    assert brand_new.action == "none"
    on_time = catch_up_decision(
        BERLIN_9,
        now=due + timedelta(seconds=3),
        created_at=utc(2026, 1, 1),
        started_at=due + timedelta(seconds=1),
        already_recorded=False,
    )
    assert (on_time.action, on_time.late) == ("post", False)


def test_digest_trigger_gives_apscheduler_the_same_times() -> None:
    trigger = DigestTrigger(Schedule("30 2 * * *", "Europe/Berlin"))
    first = trigger.get_next_fire_time(None, utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)
    second = trigger.get_next_fire_time(first, first)
    assert second == utc(2026, 10, 26, 1, 30)
