"""Hostile Sentry data and answers, end to end: `python -m bot` keeps carding every other issue.

Every class of bad data runs in process in tests/usecases/test_hostile_sentry.py; here the
answers that strain the process itself (a body dripped past the deadline, a decompression bomb)
run against the real process, which must stay alive, card the good issue, and show what was
given up on `/metrics`.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.hostile_sentry import Case, assert_kept_alerting, cards

pytestmark = pytest.mark.e2e

CASES = [
    Case(
        "drip",
        lambda sentry: sentry.drip_next(1, interval=3.0, path_contains="/issues/"),
        hostile_carded=False,
        counter="sentry_slack_sentry_deadline_hits_total",
    ),
    Case(
        "gzip_bomb",
        lambda sentry: sentry.gzip_bomb_next(1, path_contains="/issues/"),
        hostile_carded=False,
        counter="sentry_slack_sentry_too_large_total",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_sentry_never_stops_alerting(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, case: Case
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1)
        case.arm(sentry)
        good = sentry.create_issue("web", f"A good issue next to {case.name}")
        slack.wait_for(lambda: good["id"] in cards(slack), timeout=30)
        wait_polls(sentry, 2, timeout=30)

        assert bot.process is not None
        assert bot.process.poll() is None  # alive
        assert_kept_alerting(case, slack, bot.url, bot.log())
    assert bot.process.returncode == 0
