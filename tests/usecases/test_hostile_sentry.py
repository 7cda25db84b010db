"""Hostile Sentry data and answers, in process: the bot keeps carding every other issue.

One table row per class of bad data a real Sentry can hold; each runs the bot's runtime
against the fake Sentry and the fake Slack, and checks that the good issue is carded, the bot
stays up, and what was skipped shows on `/healthz` and `/metrics`. Answers that strain the
process itself (a dripped body, a decompression bomb) run end to end in tests/e2e.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.hostile_sentry import Case, assert_kept_alerting, cards, raw
from tests.usecases.conftest import BotFactory

CASES = [
    Case("far_future_date", raw("far_future_date"), hostile_carded=True),
    Case("lone_surrogates", raw("lone_surrogates"), hostile_carded=True),
    Case("deep_metadata", raw("deep_metadata"), hostile_carded=True),
    Case("huge_int", raw("huge_int"), hostile_carded=True),
    Case(
        "non_numeric_id",
        raw("non_numeric_id"),
        hostile_carded=False,
        health_line="skipped 1 object(s) the bot cannot read",
        counter="sentry_slack_sentry_items_skipped_total",
    ),
    Case("foreign_permalink", raw("foreign_permalink"), hostile_carded=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_sentry_never_stops_alerting(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, case: Case
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        case.arm(sentry)
        good = sentry.create_issue("web", f"A good issue next to {case.name}")
        slack.wait_for(lambda: good["id"] in cards(slack), timeout=30)
        wait_polls(sentry, 2, timeout=30, bot=bot)

        assert bot.alive
        assert_kept_alerting(case, slack, bot.url, bot.log())
    assert bot.returncode == 0
