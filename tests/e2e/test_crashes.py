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


def test_killed_mid_post_and_nothing_is_lost_or_doubled(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot(STORM_THRESHOLD="100")
    created: list[dict[str, object]] = []
    logs: list[str] = []
    for round_ in range(4):
        bot.start()
        bot.wait_ready()
        created += [sentry.create_issue("web", f"Crash round {round_} issue {n}") for n in range(3)]
        posts = len(slack.calls("chat.postMessage"))
        if round_ % 2 == 0:
            # Slack posts the card but the answer never arrives; killed before recording it.
            slack.drop_next("chat.postMessage")
            bot.wait_for_log("may or may not have reached Slack")
        else:
            # Killed while Slack still holds the request.
            slack.slow_next("chat.postMessage", 1.0)
            slack.wait_for(lambda n=posts: len(slack.calls("chat.postMessage")) > n, 20)
        bot.stop(signal.SIGKILL)
        logs.append(bot.log())
    bot.start()
    bot.wait_ready()
    slack.wait_for(lambda: all(cards(slack, str(i["id"])) for i in created), 30)
    wait_polls(sentry, 3)
    bot.stop()
    logs.append(bot.log())
    assert [len(cards(slack, str(i["id"]))) for i in created] == [1] * len(created)
    # Both endings of an interrupted post were met and settled from the channel history.
    assert ": already posted" in "\n".join(logs)
    assert ": will post" in "\n".join(logs)
