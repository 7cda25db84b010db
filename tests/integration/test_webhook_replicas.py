"""Processes delivering cards at the same moment (replicas acting on webhooks beside the poll
leader): a new leader's first cycle never takes a card still on its way to Slack for a lost
one, and a storm summary never lists an issue another process is posting as its own card."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.card.store import NewCard
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


def replica(sentry: FakeSentry, slack: FakeSlack, url: str, tmp_path: Path) -> Runtime:
    settings = load_settings(
        {
            "SENTRY_HOST": sentry.url,
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": url.replace("+psycopg", "").replace("+aiosqlite", ""),
            "SENTRY_WEBHOOK_SECRET": "whsec-replicas",
        },
        cwd=tmp_path,
    )
    return Runtime(settings, BotConfig(routes=(RouteSpec(channel=CHANNEL, projects=("web",)),)))


@pytest.mark.postgres
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


async def test_a_storm_summary_lists_only_the_issues_it_settles(
    sentry: FakeSentry, slack: FakeSlack, tmp_path: Path
) -> None:
    """While one process delivers a storm of owed cards as a summary, another has just claimed
    one of them to post it as its own card: the summary leaves that issue out."""
    runtime = replica(sentry, slack, f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", tmp_path)
    try:
        await migrate(runtime.engine)
        now = datetime.now(UTC)
        await runtime.routes.sync_file_routes(runtime.config.routes, now=now)
        [route] = await runtime.routes.all()
        issues = [sentry.create_issue("web", f"Storm {n}") for n in range(12)]
        await runtime.cards.enqueue(
            [NewCard(CHANNEL, i["id"], route.id, "web", datetime.now(UTC)) for i in issues]
        )
        taken = next(r for r in await runtime.cards.owed() if r.issue_id == issues[3]["id"])
        # The delivery has read what is owed and is reading the issues from Sentry when the
        # other process claims one of them.
        sentry.slow_next(1, 1.0, path_contains="/issues/")
        delivering = asyncio.create_task(runtime.delivery.deliver({}, {route.id: route}))
        while not sentry.requests_matching("GET", "/organizations/acme/issues/"):
            await asyncio.sleep(0.01)
        assert await runtime.outbox.store.claim([taken.post.id], token="other", now=now)
        report = await delivering
        [summary] = slack.messages(CHANNEL)
        listed = summary.metadata["event_payload"]["issue_ids"].split(",")
        assert report.summaries == 1
        assert sorted(listed) == sorted(i["id"] for i in issues if i is not issues[3])
        assert issues[3]["shortId"] not in json.dumps(summary.blocks)
        assert issues[4]["shortId"] in json.dumps(summary.blocks)
    finally:
        await runtime.close()
