"""Shared fixtures: a fresh database per test, on SQLite (a real file, WAL mode) and on
PostgreSQL (a throw-away server, see tests/postgres.py), and the fake Sentry and Slack that
end-to-end and in-process scenarios point the bot at."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.database import create_engine
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.inprocess import BoltApp, open_bolt_app
from tests.postgres import postgres_server

# The channel the default routes file sends `web` alerts to (see tests/e2e/conftest.py).
ALERTS_CHANNEL = "C0ALERTS1"

_database_names = itertools.count(1)

# Property tests run a fixed, moderate number of examples with no per-example deadline: the
# machine is shared with the rest of the suite, so wall-clock deadlines would only add flakes.
settings.register_profile(
    "suite", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("suite")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the PostgreSQL server runs on the same parallel worker (pytest-xdist
    `--dist loadgroup`), so one throw-away server is started for the run, not one per worker."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ())) & {"postgres_url", "postgres_database"}
        if uses or item.get_closest_marker("postgres") is not None:
            item.add_marker(pytest.mark.xdist_group("postgres"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    with postgres_server() as url:
        yield url


async def fresh_postgres_database(server_url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    name = f"test_{next(_database_names)}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def postgres_database(postgres_url: str | None) -> str:
    if postgres_url is None:
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
    return postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
    else:
        # Asked for only here, so a SQLite test never starts the PostgreSQL server.
        postgres_url: str | None = request.getfixturevalue("postgres_url")
        if postgres_url is None:
            pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
        url = await fresh_postgres_database(postgres_url)
    engine = create_engine(url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    """A fake Sentry for organization `acme` with projects `web` and `api`."""
    with FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as fake:
        fake.create_project("web")
        fake.create_project("api")
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A fake Slack workspace with the alerts channel the default routes file names."""
    with FakeSlack(
        bot_token=TOKENS["SLACK_BOT_TOKEN"], app_token=TOKENS["SLACK_APP_TOKEN"]
    ) as fake:
        fake.add_channel(ALERTS_CHANNEL, "alerts")
        yield fake


@pytest.fixture
async def bolt_app(tmp_path: Path, sentry: FakeSentry, slack: FakeSlack) -> AsyncIterator[BoltApp]:
    """The bot's runtime, built on the test's event loop against the fakes, answering signed
    requests through its Slack endpoint and Bolt's dispatch (no web server, no scheduler)."""
    async with open_bolt_app(tmp_path, sentry, slack, channel=ALERTS_CHANNEL) as app:
        yield app
