"""`kill -9` in the middle of posting: after restarts every issue has exactly one card.
(The long randomised version with 20 rounds is `bench/reliability.py`.)"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e


def cards(slack: FakeSlack, issue_id: str) -> list[object]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_issue_card"
        and m.metadata["event_payload"]["issue_id"] == issue_id
    ]


def test_killed_mid_post_three_times_and_nothing_is_lost_or_doubled(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot(STORM_THRESHOLD="100")
    created: list[dict[str, object]] = []
    for _ in range(3):
        bot.start()
        bot.wait_ready()
        created += [
            sentry.create_issue("web", f"Crash round issue {len(created) + n}") for n in range(3)
        ]
        # The next post is received by Slack but answered only after a delay: kill the bot
        # while it waits, so Slack posts a card whose ts the bot never records.
        posts = len(slack.calls("chat.postMessage"))
        slack.slow_next("chat.postMessage", 1.0)
        slack.wait_for(lambda n=posts: len(slack.calls("chat.postMessage")) > n, 20)
        bot.stop(signal.SIGKILL)
    bot.start()
    bot.wait_ready()
    slack.wait_for(lambda: all(cards(slack, str(i["id"])) for i in created), 30)
    wait_polls(sentry, 3)
    bot.stop()
    # The last kill left a card that Slack had posted but the bot had not recorded.
    assert ": already posted" in bot.log()
    assert [len(cards(slack, str(i["id"]))) for i in created] == [1] * len(created)
