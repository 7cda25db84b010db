"""A route for an environment no event has named yet polls as "no issues", not as a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.poller import Poller
from bot.config_file import BotConfig, RouteSpec
from bot.runtime import Runtime, utc_now
from bot.settings import load_settings
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

ROUTES = (
    RouteSpec(channel="C0STAGING", environment="staging"),
    RouteSpec(channel="C0PROD", environment="production"),
)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeSentry, FakeSlack]]:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        slack.add_channel("C0STAGING", "staging-alerts")
        slack.add_channel("C0PROD", "prod-alerts")
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": "acme",
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
            },
            cwd=tmp_path,
        )
        runtime = Runtime(settings, BotConfig(routes=ROUTES))
        yield runtime, sentry, slack
        await runtime.close()


def poller_of(bot: Runtime) -> Poller:
    return Poller(
        sentry=bot.sentry,
        routes=bot.routes,
        cards=bot.cards,
        delivery=bot.delivery,
        freshness=bot.freshness,
        metrics=bot.metrics,
        clock=utc_now,
        reconcile_after=timedelta(minutes=2),
    )


async def test_an_environment_without_events_yet_is_not_a_failed_poll(
    runtime: tuple[Runtime, FakeSentry, FakeSlack],
) -> None:
    bot, sentry, slack = runtime
    await migrate(bot.engine)
    started = datetime.now(UTC) - timedelta(minutes=5)
    await bot.routes.sync_file_routes(bot.config.routes, now=started)
    sentry.create_issue("web", "Only in production", environment="production")
    poller = poller_of(bot)

    report = await poller.run_cycle()
    assert report.failed_groups == []
    assert poller.last_success is not None
    assert len(slack.messages("C0PROD")) == 1
    assert slack.messages("C0STAGING") == []

    sentry.create_issue("web", "First staging error", environment="staging")
    report = await poller.run_cycle()
    assert report.failed_groups == []
    [card] = slack.messages("C0STAGING")
    assert "First staging error" in str(card.blocks)
