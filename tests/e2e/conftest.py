"""Fixtures for end-to-end scenarios: the bot as a process, configured through its environment
against the fake Sentry and Slack (the `sentry` and `slack` fixtures of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.conftest import ALERTS_CHANNEL as CHANNEL
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

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
        env = bot_env(tmp_path, sentry, slack, socket_mode=socket_mode, config=config, **extra)
        bot = BotProcess(env, workdir=tmp_path)
        made.append(bot)
        return bot

    yield build
    for bot in made:
        if bot.process is not None and bot.process.poll() is None:
            bot.stop()


def bot_env(
    workdir: Path,
    sentry: FakeSentry,
    slack: FakeSlack,
    *,
    socket_mode: bool = False,
    config: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of a bot wired to the fakes, with its routes file written in `workdir`."""
    config_file = workdir / "bot.yml"
    config_file.write_text(config if config is not None else routes_yaml())
    env = {
        "SENTRY_HOST": sentry.url,
        "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
        "SENTRY_ORG": "acme",
        "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{workdir}/bot.sqlite3",
        "BOT_CONFIG": str(config_file),
        "POLL_INTERVAL_SECONDS": "1",
        **extra,
    }
    if socket_mode:
        env["SLACK_APP_TOKEN"] = TOKENS["SLACK_APP_TOKEN"]
    else:
        env["SLACK_SIGNING_SECRET"] = TOKENS["SLACK_SIGNING_SECRET"]
    return env


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


class Pollable(Protocol):
    def poll_now(self) -> None: ...


def wait_polls(
    sentry: FakeSentry, count: int, timeout: float = 20.0, *, bot: Pollable | None = None
) -> None:
    """Wait until `count` more poll searches have reached Sentry than now; a bot that can be
    told to poll now (one in the test process) is, rather than waited for its interval."""
    if bot is None:
        target = searches(sentry) + count
        sentry.wait_for(lambda: searches(sentry) >= target, timeout)
        return
    for _ in range(count):
        goal = searches(sentry) + 1
        bot.poll_now()
        sentry.wait_for(lambda goal=goal: searches(sentry) >= goal, timeout)
