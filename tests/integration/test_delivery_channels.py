"""Delivery per channel, in process against the wire fakes: a long Slack rate limit parks only
its channel, a post in a public channel the bot never joined is settled by joining it, and a
post that cannot be settled is surfaced rather than posted twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config_file import BotConfig, RouteSpec
from bot.outbox import metadata
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.slack.notifier import Posted
from bot.slack.stalls import SETTLE_ATTEMPTS, Stalls
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_web import DEFAULT_BOT_SCOPES

LIMITED, HEALTHY, OUTSIDE = "C0LIMITED", "C0HEALTHY", "C0OUTSIDE"
CARD_EVENT = "sentry_issue_card"


class Clock:
    """The board's clock, moved by the test (Slack's limit lasts an hour)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


Setup = tuple[Runtime, FakeSentry, FakeSlack, Clock]


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Setup]:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        slack.add_channel(LIMITED, "limited")
        slack.add_channel(HEALTHY, "healthy")
        slack.add_channel(OUTSIDE, "never-joined", member=False)
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": "acme",
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                "POLL_INTERVAL_SECONDS": "60",
            },
            cwd=tmp_path,
        )
        sentry.create_project("web")
        sentry.create_project("api")
        # web issues go to the limited and the healthy channel, api issues to the one the bot
        # never joined (it posts there through chat:write.public).
        routes = (
            RouteSpec(channel=LIMITED, projects=("web",)),
            RouteSpec(channel=HEALTHY, projects=("web",)),
            RouteSpec(channel=OUTSIDE, projects=("api",)),
        )
        runtime = Runtime(settings, BotConfig(routes=routes))
        clock = Clock()
        runtime.notifier.stalls = Stalls(metrics=runtime.metrics, clock=clock)
        await migrate(runtime.engine)
        await runtime.routes.sync_file_routes(
            runtime.config.routes, now=datetime.now(UTC) - timedelta(minutes=1)
        )
        yield runtime, sentry, slack, clock
        await runtime.close()


def cards(slack: FakeSlack, channel: str, issue_id: str) -> int:
    return sum(
        1
        for m in slack.messages(channel)
        if (m.metadata or {}).get("event_type") == CARD_EVENT
        and m.metadata["event_payload"]["issue_id"] == issue_id
    )


def posts_to(slack: FakeSlack, channel: str) -> int:
    return sum(1 for c in slack.calls("chat.postMessage") if c.params.get("channel") == channel)


async def test_an_hour_long_rate_limit_parks_only_its_channel(bot: Setup) -> None:
    runtime, sentry, slack, clock = bot
    slack.limit_channel(LIMITED, 3600)
    issue = str(sentry.create_issue("web", "Limited elsewhere")["id"])
    report = await runtime.poller.run_cycle()
    # The healthy channel got its card in this very cycle; the limited one was asked once
    # (no retry sleeping through the hour) and is parked until its Retry-After.
    assert cards(slack, HEALTHY, issue) == 1
    assert cards(slack, LIMITED, issue) == 0
    assert posts_to(slack, LIMITED) == 1
    until = runtime.notifier.stalls.limited_until(LIMITED)
    assert until is not None
    assert until - clock.now == timedelta(hours=1)
    assert report.delivery.rate_limited == {LIMITED: until}
    assert LIMITED not in report.delivery.refused
    [problem] = runtime.notifier.stalls.problems()
    assert LIMITED in problem
    assert until.isoformat() in problem
    assert f'channel="{LIMITED}"' in runtime.metrics.render().decode()
    _, health = await runtime.health()
    assert any(LIMITED in line for line in health["degraded"])

    later = str(sentry.create_issue("web", "While still limited")["id"])
    await runtime.poller.run_cycle()
    assert posts_to(slack, LIMITED) == 1  # parked: Slack is not asked again
    assert cards(slack, HEALTHY, later) == 1

    slack.limit_channel(LIMITED, None)
    clock.now += timedelta(hours=1, seconds=1)
    await runtime.poller.run_cycle()
    await runtime.poller.run_cycle()
    assert [cards(slack, c, i) for c in (LIMITED, HEALTHY) for i in (issue, later)] == [1] * 4
    assert runtime.notifier.stalls.problems() == []
    assert f'channel="{LIMITED}"' not in runtime.metrics.render().decode()


async def test_a_short_rate_limit_is_waited_for_by_slack_sdk(bot: Setup) -> None:
    runtime, _sentry, slack, _ = bot
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    outcome = await runtime.notifier.post(HEALTHY, {"text": "card"})
    assert isinstance(outcome, Posted)
    assert len(slack.calls("chat.postMessage")) == 2
    assert runtime.notifier.stalls.limited_until(HEALTHY) is None


async def test_a_lost_post_in_a_channel_never_joined_is_settled_by_joining(bot: Setup) -> None:
    runtime, sentry, slack, _ = bot
    issue = str(sentry.create_issue("api", "Answer lost")["id"])
    slack.drop_next("chat.postMessage")  # posted, but the answer never arrives
    await runtime.poller.run_cycle()
    assert cards(slack, OUTSIDE, issue) == 1
    assert not slack.channel(OUTSIDE).member
    await runtime.poller.run_cycle()
    await runtime.poller.run_cycle()
    assert cards(slack, OUTSIDE, issue) == 1
    assert [c.params["channel"] for c in slack.calls("conversations.join")] == [OUTSIDE]
    [row] = [r for r in await runtime.cards.for_issue(issue)]
    assert (row.post.state, row.post.posted_as) == ("posted", "card")
    assert row.message_ts == slack.messages(OUTSIDE)[0].ts


async def test_a_post_that_cannot_be_read_back_is_surfaced_and_never_doubled(
    bot: Setup,
) -> None:
    runtime, sentry, slack, _ = bot
    slack.set_scopes(DEFAULT_BOT_SCOPES - {"channels:join"})
    issue = str(sentry.create_issue("api", "Cannot be read back")["id"])
    slack.drop_next("chat.postMessage")
    for _ in range(SETTLE_ATTEMPTS + 1):
        await runtime.poller.run_cycle()
    assert cards(slack, OUTSIDE, issue) == 1
    [stuck] = runtime.notifier.stalls.unsettled()
    assert stuck.channel == OUTSIDE
    assert issue in stuck.what
    assert "channels:join" in stuck.reason
    _, health = await runtime.health()
    [line] = [p for p in health["degraded"] if "cannot be settled" in p]
    assert OUTSIDE in line
    assert issue in line
    assert 'sentry_slack_posts_unsettled{kind="card"} 1.0' in runtime.metrics.render().decode()

    slack.set_scopes(DEFAULT_BOT_SCOPES)  # the app is reinstalled with channels:join
    await runtime.poller.run_cycle()
    await runtime.poller.run_cycle()
    assert cards(slack, OUTSIDE, issue) == 1
    assert runtime.notifier.stalls.unsettled() == []
    assert 'sentry_slack_posts_unsettled{kind="card"} 0.0' in runtime.metrics.render().decode()


async def test_thread_replies_and_digests_are_read_back_in_a_channel_never_joined(
    bot: Setup,
) -> None:
    runtime, _sentry, slack, _ = bot
    notifier = runtime.notifier
    card = await notifier.post(OUTSIDE, {"text": "card"})
    assert isinstance(card, Posted)
    meta = metadata.encode("reply", ["reply:7.1"], {"issue_id": "42"})
    reply = await notifier.post(OUTSIDE, {"text": "back"}, metadata=meta, thread_ts=card.ts)
    assert isinstance(reply, Posted)
    key = metadata.digest_key(3, "2026-03-01T09:00:00Z")
    digest = metadata.encode("digest", [key])
    assert isinstance(await notifier.post(OUTSIDE, {"text": "digest"}, metadata=digest), Posted)
    assert not slack.channel(OUTSIDE).member
    since = datetime.now(UTC) - timedelta(minutes=5)
    # One search for both places: the thread and the channel history.
    in_thread = await runtime.outbox.carried(OUTSIDE, since=since, thread_ts=card.ts)
    assert in_thread == {"reply:7.1": (reply.ts, "reply")}
    history = await runtime.outbox.carried(OUTSIDE, since=since)
    assert history == {key: (slack.messages(OUTSIDE)[-1].ts, "digest")}
    assert len(slack.calls("conversations.join")) == 1
