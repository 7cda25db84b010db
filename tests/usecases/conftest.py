"""Fixtures for in-process scenarios: the real bot `Runtime` (Bolt listeners, use cases, poller,
scheduler, SQLite store) in the test process, wired to the fake Sentry and Slack through the same
environment as `python -m bot`, and driven by signed requests to its own HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import bot_env
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.inprocess import InProcessBot

BotFactory = Callable[..., InProcessBot]


@pytest.fixture
def make_bot(tmp_path: Path, sentry: FakeSentry, slack: FakeSlack) -> Iterator[BotFactory]:
    """Build an in-process bot (not started) wired to the fakes; stopped at the end of the test.
    Socket Mode needs its own process and stays in tests/e2e."""
    made: list[InProcessBot] = []

    def build(*, config: str | None = None, **extra: str) -> InProcessBot:
        bot = InProcessBot(
            bot_env(tmp_path, sentry, slack, config=config, **extra), workdir=tmp_path
        )
        made.append(bot)
        return bot

    yield build
    for bot in made:
        bot.stop()
