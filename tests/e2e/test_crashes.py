"""`kill -9` in the middle of posting: after restarts every issue has exactly one card.
(The long randomised version with 20 rounds is `bench/reliability.py`.)"""

from __future__ import annotations

import signal

import httpx
import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_web import DEFAULT_BOT_SCOPES

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


@pytest.mark.parametrize("ending", ["answer lost", "killed while Slack holds the post"])
def test_killed_after_posting_to_a_public_channel_never_joined(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, ending: str
) -> None:
    # The bot posts there through chat:write.public, so it cannot read the channel back
    # until it joins it.
    slack.set_channel(CHANNEL, member=False)
    bot = make_bot()
    bot.start()
    bot.wait_ready()
    issue = str(sentry.create_issue("web", f"Posted then killed ({ending})")["id"])
    if ending == "answer lost":
        slack.drop_next("chat.postMessage")
        bot.wait_for_log("may or may not have reached Slack")
    else:
        slack.slow_next("chat.postMessage", 1.0)
        slack.wait_for(lambda: len(slack.calls("chat.postMessage")) > 0, 20)
    bot.kill()
    # Lost answer: the card is in the channel. Killed mid-request: Slack dropped the post
    # with the connection. Either way the restarted bot must read the channel to know.
    posted = len(cards(slack, issue))
    assert posted == (1 if ending == "answer lost" else 0)
    assert not slack.channel(CHANNEL).member
    bot.start()
    bot.wait_ready()
    settled = "already posted" if posted else "will post"
    bot.wait_for_log(f"reconciled issue {issue} in {CHANNEL}: {settled}", 30)
    slack.wait_for(lambda: len(cards(slack, issue)) == 1, 20)
    wait_polls(sentry, 3)
    bot.stop()
    assert len(cards(slack, issue)) == 1
    assert slack.channel(CHANNEL).member
    assert [c.params["channel"] for c in slack.calls("conversations.join")] == [CHANNEL]


def test_a_post_that_cannot_be_read_back_is_named_on_healthz_and_never_doubled(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.set_channel(CHANNEL, member=False)
    slack.set_scopes(DEFAULT_BOT_SCOPES - {"channels:join"})  # installed before it was asked
    with make_bot() as bot:
        bot.wait_ready()
        issue = str(sentry.create_issue("web", "Outcome unknown, channel unreadable")["id"])
        slack.drop_next("chat.postMessage")
        bot.wait_for_log(f"a post to {CHANNEL} \\(card of issue {issue}\\) cannot be settled", 30)
        degraded = httpx.get(f"{bot.url}/healthz", timeout=5).json()["degraded"]
        [line] = [p for p in degraded if "cannot be settled" in p]
        assert CHANNEL in line
        assert issue in line
        assert "channels:join" in line
        metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
        assert 'sentry_slack_posts_unsettled{kind="card"} 1.0' in metrics
        slack.set_scopes(DEFAULT_BOT_SCOPES)  # reinstalled with channels:join
        bot.wait_for_log(f"reconciled issue {issue} in {CHANNEL}: already posted", 30)
        wait_polls(sentry, 2)
        assert httpx.get(f"{bot.url}/healthz", timeout=5).json()["degraded"] == []
    assert len(cards(slack, issue)) == 1


def test_killed_after_a_storm_summary_reached_slack_keeps_every_listed_issue(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """A storm summary whose answer was lost is recorded as the summary it is on restart: the
    card refresh never replaces it with one issue's card, so no listed issue drops out."""
    bot = make_bot(STORM_THRESHOLD="3")
    bot.start()
    bot.wait_ready()
    bot.stop()
    # Arrive while the bot is down, so they are all owed in the same cycle: one summary.
    created = [str(sentry.create_issue("web", f"Storm while down {n}")["id"]) for n in range(12)]
    slack.drop_next("chat.postMessage")
    bot.start()
    bot.wait_for_log("may or may not have reached Slack", 30)
    bot.kill()
    [summary] = slack.messages(CHANNEL)
    assert summary.metadata is not None
    assert summary.metadata["event_type"] == "sentry_issue_summary"
    bot.start()
    bot.wait_ready()
    for issue in created:
        bot.wait_for_log(f"reconciled issue {issue} in {CHANNEL}: already posted", 30)
    wait_polls(sentry, 4)
    bot.stop()
    [after] = slack.messages(CHANNEL)
    assert after.ts == summary.ts
    assert after.metadata == summary.metadata
    assert after.metadata["event_payload"]["issue_ids"].split(",") == created
    assert not [c for c in slack.calls("chat.update") if c.params.get("ts") == summary.ts]
    assert not any(cards(slack, issue) for issue in created)
