"""Fixtures for end-to-end scenarios: a fake Sentry, a fake Slack, and the bot's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0ALERTS1"


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as fake:
        fake.create_project("web")
        fake.create_project("api")
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(
        bot_token=TOKENS["SLACK_BOT_TOKEN"], app_token=TOKENS["SLACK_APP_TOKEN"]
    ) as fake:
        fake.add_channel(CHANNEL, "alerts")
        yield fake


BotFactory = Callable[..., BotProcess]


@pytest.fixture
def make_bot(tmp_path: Path, sentry: FakeSentry, slack: FakeSlack) -> Iterator[BotFactory]:
    """Build a bot process (not started) wired to the fakes; stopped at the end of the test."""
    made: list[BotProcess] = []

    def build(
        *,
        socket_mode: bool = False,
        config: str | None = None,
        **extra: str,
    ) -> BotProcess:
        config_file = tmp_path / "bot.yml"
        config_file.write_text(config if config is not None else routes_yaml())
        env = {
            "SENTRY_HOST": sentry.url,
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
            "BOT_CONFIG": str(config_file),
            "POLL_INTERVAL_SECONDS": "1",
            **extra,
        }
        if socket_mode:
            env["SLACK_APP_TOKEN"] = TOKENS["SLACK_APP_TOKEN"]
        else:
            env["SLACK_SIGNING_SECRET"] = TOKENS["SLACK_SIGNING_SECRET"]
        bot = BotProcess(env, workdir=tmp_path)
        made.append(bot)
        return bot

    yield build
    for bot in made:
        if bot.process is not None and bot.process.poll() is None:
            bot.stop()


def routes_yaml(channel: str = CHANNEL, projects: str = "[web]") -> str:
    return f"routes:\n  - channel: {channel}\n    projects: {projects}\n"


def searches(sentry: FakeSentry) -> int:
    """Issue searches the bot made (the poll's org-level issue list)."""
    return sum(
        1
        for r in sentry.requests
        if r.method == "GET"
        and r.path.endswith("/organizations/acme/issues/")
        and "firstSeen:>=" in (r.param("query") or "")
    )


def wait_polls(sentry: FakeSentry, count: int, timeout: float = 20.0) -> None:
    """Wait until `count` more poll searches have reached Sentry than now."""
    target = searches(sentry) + count
    sentry.wait_for(lambda: searches(sentry) >= target, timeout)
