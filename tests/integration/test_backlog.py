"""A backlog larger than one cycle reads is read back over several cycles, none skipped."""

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


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeSentry, FakeSlack]]:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        slack.add_channel("C0BACKLOG", "backlog")
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": "acme",
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                "STORM_THRESHOLD": "1000",
            },
            cwd=tmp_path,
        )
        runtime = Runtime(settings, BotConfig(routes=(RouteSpec(channel="C0BACKLOG"),)))
        yield runtime, sentry, slack
        await runtime.close()


async def test_a_long_downtime_backlog_is_read_completely(
    runtime: tuple[Runtime, FakeSentry, FakeSlack],
) -> None:
    bot, sentry, _slack = runtime
    await migrate(bot.engine)
    created = datetime.now(UTC) - timedelta(hours=1)
    await bot.routes.sync_file_routes(bot.config.routes, now=created)
    for n in range(250):
        sentry.create_issue("web", f"Backlog {n}", first_seen=created + timedelta(seconds=n))
    # One page of 100 per search, so the backlog takes three cycles.
    poller = Poller(
        sentry=bot.sentry,
        routes=bot.routes,
        cards=bot.cards,
        delivery=bot.delivery,
        freshness=bot.freshness,
        metrics=bot.metrics,
        clock=utc_now,
        reconcile_after=timedelta(minutes=2),
        max_pages=1,
    )
    assert (await poller.run_cycle()).enqueued == 100
    [route] = await bot.routes.all()
    assert route.polled_until is None  # not moved while older issues are unread
    enqueued = [(await poller.run_cycle()).enqueued for _ in range(3)]
    assert enqueued == [100, 50, 0]
    assert await bot.cards.count() == 250
    [route] = await bot.routes.all()
    assert route.polled_until is not None
    assert route.polled_until > created + timedelta(minutes=30)
