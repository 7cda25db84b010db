"""Two replicas on one PostgreSQL database: one posts a card for a webhook while the other
takes the poll lease and runs its first cycle. The new leader must not take the card that is
still on its way to Slack for a lost one: the issue ends with one card."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config_file import BotConfig, RouteSpec
from bot.runtime import Runtime
from bot.sentry.ids import IssueId
from bot.settings import load_settings
from bot.store.migrations import migrate
from bot.webhooks.hooks import Hint
from tests.conftest import ALERTS_CHANNEL as CHANNEL
from tests.conftest import fresh_postgres_database
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards_for

pytestmark = pytest.mark.postgres


def replica(sentry: FakeSentry, slack: FakeSlack, url: str, tmp_path: Path) -> Runtime:
    settings = load_settings(
        {
            "SENTRY_HOST": sentry.url,
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": url.replace("+psycopg", ""),
            "SENTRY_WEBHOOK_SECRET": "whsec-replicas",
        },
        cwd=tmp_path,
    )
    return Runtime(settings, BotConfig(routes=(RouteSpec(channel=CHANNEL, projects=("web",)),)))


async def test_a_new_leaders_first_cycle_leaves_a_webhook_post_in_flight_alone(
    sentry: FakeSentry, slack: FakeSlack, postgres_database: str, tmp_path: Path
) -> None:
    url = await fresh_postgres_database(postgres_database)
    poster, leader = replica(sentry, slack, url, tmp_path), replica(sentry, slack, url, tmp_path)
    try:
        await migrate(poster.engine)
        await poster.routes.sync_file_routes(poster.config.routes, now=datetime.now(UTC))
        issue = sentry.create_issue("web", "Posted by one replica, polled by the other")
        assert poster.parts.webhooks is not None
        await poster.parts.webhook_queue.put(
            Hint("issue", "issue", "created", IssueId(issue["id"]), route=True),
            now=datetime.now(UTC),
        )
        # The webhook replica's post reaches Slack only after the other replica's cycle.
        slack.slow_next("chat.postMessage", 3.0)
        posting = asyncio.create_task(poster.parts.webhooks.run_once())
        while not slack.calls("chat.postMessage"):
            await asyncio.sleep(0.02)
        report = await leader.poller.run_cycle()
        await posting
        assert report.found == 1
        assert report.delivery.cards == 0
        assert len(cards_for(slack, issue["id"])) == 1
    finally:
        await poster.close()
        await leader.close()
