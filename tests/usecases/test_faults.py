"""Outages, refusals, rate limits and storms survived by the bot's runtime in process; `/healthz`
and the log say what happened."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import CHANNEL, routes_yaml, searches, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards, health
from tests.usecases.conftest import BotFactory


def test_sentry_outages_are_survived_and_nothing_is_lost(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "Created during an outage")
        sentry.fail_next(6, status=503, path_contains="/issues/")
        bot.wait_for_log("Sentry (comeback )?search .* failed")
        assert any("Sentry" in str(p) for p in health(bot)["degraded"])  # type: ignore[union-attr]
        sentry.fail_next(2, status=429, rate_limit_headers=False, path_contains="/issues/")
        sentry.malformed_next(1, path_contains="/issues/")
        sentry.drop_next(1, path_contains="/issues/")
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 30)
        wait_polls(sentry, 2, bot=bot)
        assert health(bot)["degraded"] == []
    assert len(cards(slack, issue["id"])) == 1


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("not_in_channel", "invite the bot"),
        ("channel_not_found", "check the channel ID"),
        ("is_archived", "unarchive"),
    ],
)
def test_slack_channel_errors_are_logged_with_the_fix_and_retried(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, error: str, advice: str
) -> None:
    slack.error_next("chat.postMessage", error, count=2)
    with make_bot() as bot:
        bot.wait_ready()
        issue = sentry.create_issue("web", "Posted once the channel works")
        line = bot.wait_for_log(f"Slack refused a post to {CHANNEL} \\({error}\\)")
        assert advice in line
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 20)
        wait_polls(sentry, 2, bot=bot)
    assert len(cards(slack, issue["id"])) == 1


@pytest.mark.parametrize("state", ["token_revoked", "invalid_auth"])
def test_a_revoked_token_is_reported_and_delivery_resumes(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, state: str
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        slack.set_token_state(state)  # type: ignore[arg-type]
        issue = sentry.create_issue("web", "Waiting for a new token")
        bot.wait_for_log(f"Slack refused a post to {CHANNEL} \\({state}\\)")
        degraded = health(bot)["degraded"]
        assert any(state in str(p) and "SLACK_BOT_TOKEN" in str(p) for p in degraded)  # type: ignore[union-attr]
        slack.set_token_state("ok")
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 20)
        wait_polls(sentry, 2, bot=bot)
    assert len(cards(slack, issue["id"])) == 1


def test_slack_rate_limits_and_server_errors_are_retried(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", 2, status=429, retry_after=1)
    with make_bot() as bot:
        bot.wait_ready()
        issue = sentry.create_issue("web", "Rate limited at first")
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 20)
        slack.fail_next("chat.postMessage", 1, status=500)
        second = sentry.create_issue("web", "After a Slack 500")
        slack.wait_for(lambda: len(cards(slack, second["id"])) == 1, 20)
        wait_polls(sentry, 3, bot=bot)
    assert len(cards(slack, issue["id"])) == 1
    assert len(cards(slack, second["id"])) == 1


def test_an_hour_long_rate_limit_on_one_channel_delays_that_channel_only(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    limited, unjoined = "C0LIMITED", "C0PUBLIC2"
    slack.add_channel(limited, "alerts-limited")
    slack.add_channel(unjoined, "alerts-public", member=False)
    config = routes_yaml() + "".join(
        f"  - channel: {c}\n    projects: [web]\n" for c in (limited, unjoined)
    )
    slack.limit_channel(limited, 3600)
    with make_bot(config=config) as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        before = searches(sentry)
        issue = sentry.create_issue("web", "Everyone but the limited channel")
        slack.wait_for(lambda: all(cards(slack, issue["id"], c) for c in (CHANNEL, unjoined)), 20)
        # Delivered by the first or second poll after the issue appeared, not after an hour.
        assert searches(sentry) - before <= 2
        degraded = health(bot)["degraded"]
        [line] = [str(p) for p in degraded if limited in str(p)]  # type: ignore[union-attr]
        assert "rate-limiting" in line
        assert " until 20" in line
        metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
        assert f'sentry_slack_channel_rate_limited_until_seconds{{channel="{limited}"}}' in metrics
        wait_polls(sentry, 2, bot=bot)
        # Asked once; parked since, while the other channels went on.
        assert sum(c.params.get("channel") == limited for c in slack.calls("chat.postMessage")) == 1
    assert cards(slack, issue["id"], limited) == []
    assert [len(cards(slack, issue["id"], c)) for c in (CHANNEL, unjoined)] == [1, 1]


def test_a_storm_becomes_summaries_in_order_with_every_issue_referenced(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_channel("C0ALERTS2", "alerts-api")
    config = routes_yaml() + "  - channel: C0ALERTS2\n    projects: [api]\n"
    slack.enforce_post_rate(1.0, burst=1)
    with make_bot(config=config) as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        made = {
            "web": [sentry.create_issue("web", f"Storm web {n}") for n in range(45)],
            "api": [sentry.create_issue("api", f"Storm api {n}") for n in range(35)],
        }
        for channel, issues in ((CHANNEL, made["web"]), ("C0ALERTS2", made["api"])):
            slack.wait_for(lambda c=channel, i=issues: all(cards(slack, x["id"], c) for x in i), 60)
        wait_polls(sentry, 2, bot=bot)
    for channel, issues in ((CHANNEL, made["web"]), ("C0ALERTS2", made["api"])):
        messages = slack.messages(channel)
        assert len(messages) == 2  # 30 per summary
        listed = [
            i
            for m in messages
            for i in m.metadata["event_payload"]["issue_ids"].split(",")  # type: ignore[union-attr]
        ]
        assert listed == [i["id"] for i in issues]  # each once, oldest first
    # Slack's one-per-second limit answered some posts with 429; they were retried.
    posted = len(slack.messages(CHANNEL)) + len(slack.messages("C0ALERTS2"))
    assert len(slack.calls("chat.postMessage")) > posted
