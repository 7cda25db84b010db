"""Digests end to end: a per-minute digest from the routes file posts once per minute, across a
restart. The wait is for real minute boundaries (apscheduler fires on the wall clock), so this
scenario takes up to about two minutes; the catch-up of missed periods and `digest now` are
covered with an injected clock in tests/integration/test_digests.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, routes_yaml
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e

POSTED = r"digest \d+ posted to " + CHANNEL


def digests(slack: FakeSlack) -> list[object]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_digest"
    ]


def period_ends(slack: FakeSlack) -> list[datetime]:
    return [
        datetime.fromisoformat(m.metadata["event_payload"]["period_end"])  # type: ignore[attr-defined]
        for m in digests(slack)
    ]


def test_a_per_minute_digest_posts_once_per_minute_across_a_restart(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    sentry.create_issue("web", "Busy web issue", count=12)
    config = routes_yaml() + f'digests:\n  - channel: {CHANNEL}\n    cron: "* * * * *"\n'
    bot = make_bot(config=config)
    with bot:
        bot.wait_ready()
        bot.wait_for_log(POSTED, timeout=75)
    assert len(digests(slack)) == 1
    with bot:
        bot.wait_ready()
        bot.wait_for_log(POSTED, timeout=75)
        slack.wait_for(lambda: len(digests(slack)) >= 2, timeout=5)
    ends = period_ends(slack)
    assert len(ends) == len(set(ends)), ends
    assert all(e.second == 0 for e in ends)
    assert (ends[1] - ends[0]).total_seconds() == 60, ends
    assert "Busy web issue" in str(digests(slack)[0].blocks)  # type: ignore[attr-defined]
    assert bot.process is not None
    assert bot.process.returncode == 0
