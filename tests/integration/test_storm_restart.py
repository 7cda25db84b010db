"""A restart after a post whose answer was lost, in the middle of a storm, for any storm size
and threshold: every issue stays referenced exactly once, and no storm summary is
ever replaced by one issue's card (in process, against the wire fakes and a real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config_file import BotConfig, RouteSpec
from bot.runtime import Runtime
from bot.settings import load_settings
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0STORM01"


def listed(slack: FakeSlack) -> list[str]:
    """Every issue the channel's messages reference, as often as they do."""
    found: list[str] = []
    for m in slack.messages(CHANNEL):
        payload = (m.metadata or {}).get("event_payload", {})
        if (m.metadata or {}).get("event_type") == "sentry_issue_card":
            found.append(payload["issue_id"])
        elif (m.metadata or {}).get("event_type") == "sentry_issue_summary":
            found += payload["issue_ids"].split(",")
    return found


def runtime(sentry: FakeSentry, slack: FakeSlack, tmp: Path, threshold: int) -> Runtime:
    env = {
        "SENTRY_HOST": sentry.url,
        "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
        "SENTRY_ORG": "acme",
        "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
        "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp}/bot.sqlite3",
        "POLL_INTERVAL_SECONDS": "60",
        "STORM_THRESHOLD": str(threshold),
    }
    config = BotConfig(routes=(RouteSpec(channel=CHANNEL, projects=("web",)),))
    return Runtime(load_settings(env, cwd=tmp), config)


async def crash_and_restart(issues: int, threshold: int) -> None:
    with (
        TemporaryDirectory() as tmp,
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        sentry.create_project("web")
        slack.add_channel(CHANNEL, "storm")
        first = runtime(sentry, slack, Path(tmp), threshold)
        await migrate(first.engine)
        await first.routes.sync_file_routes(
            first.config.routes, now=datetime.now(UTC) - timedelta(minutes=1)
        )
        created = [str(sentry.create_issue("web", f"Storm {n}")["id"]) for n in range(issues)]
        # The answer of the first post (a summary in a storm) is lost; the process dies before
        # it is recorded.
        slack.drop_next("chat.postMessage")
        await first.poller.run_cycle()
        await first.close()
        before = {m.ts: m.metadata for m in slack.messages(CHANNEL)}
        second = runtime(sentry, slack, Path(tmp), threshold)
        try:
            for _ in range(3):
                await second.poller.run_cycle()
        finally:
            await second.close()
        assert sorted(listed(slack)) == sorted(created)
        summaries = [
            ts for ts, meta in before.items() if meta and "issue_ids" in meta["event_payload"]
        ]
        for ts in summaries:
            assert slack.message(CHANNEL, ts).metadata == before[ts]
        assert not [c for c in slack.calls("chat.update") if c.params.get("ts") in summaries]


@settings(max_examples=12)
@given(issues=st.integers(1, 45), threshold=st.integers(1, 12))
def test_a_lost_answer_in_a_storm_loses_and_doubles_nothing(issues: int, threshold: int) -> None:
    asyncio.run(crash_and_restart(issues, threshold))
