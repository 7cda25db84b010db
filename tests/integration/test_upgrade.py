"""Upgrading in place: a database written by the release before the outbox (schema version 2,
checked in as SQL per backend) with cards, storm summaries, thread replies and digest runs in
every state. After the upgrade the running bot, against the wire fakes, posts exactly what was
still owed, settles what was in flight from the channel, and reposts nothing, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from slack_sdk import WebClient

from bot.config_file import BotConfig, RouteSpec
from bot.outbox.store import OutboxRow, outbox_row
from bot.runtime import Runtime
from bot.sentry.models import format_time
from bot.settings import load_settings
from bot.store.database import create_engine
from bot.store.migrations import LATEST_VERSION, migrate
from bot.store.schema import outbox
from tests.conftest import fresh_postgres_database
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0ALERTS1"
SCHEMAS = Path(__file__).resolve().parents[1] / "store"
NOW = datetime.now(UTC).replace(microsecond=0)
LONG_AGO = NOW - timedelta(minutes=30)
# The digest's two latest periods: the first posted, the second in flight at the upgrade.
P2 = (NOW - timedelta(hours=1)).replace(second=0)
P1 = P2 - timedelta(days=1)


def naive(moment: datetime) -> datetime:
    """How version 2 stored a moment: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass
class Before:
    """What the old release left: issue ids by role, and the messages it had posted."""

    issues: dict[str, str]
    ts: dict[str, str]


def post_as_old_release(
    slack: FakeSlack, event_type: str, payload: dict[str, Any], **extra: Any
) -> str:
    client = WebClient(token=TOKENS["SLACK_BOT_TOKEN"], base_url=slack.api_url)
    answer = client.chat_postMessage(
        channel=CHANNEL,
        text=event_type,
        metadata={"event_type": event_type, "event_payload": payload},
        **extra,
    )
    return str(answer["ts"])


async def write_version_2(url: str, sentry: FakeSentry, slack: FakeSlack) -> Before:
    issues = {
        role: str(sentry.create_issue("web", f"Before the upgrade: {role}")["id"])
        for role in ("card", "listed1", "listed2", "owed", "in_flight", "lost_post")
    }
    issues["gone"] = "999999"
    ts = {
        "card": post_as_old_release(slack, "sentry_issue_card", {"issue_id": issues["card"]}),
        "summary": post_as_old_release(
            slack,
            "sentry_issue_summary",
            {"issue_ids": f"{issues['listed1']},{issues['listed2']}"},
        ),
        # Reached Slack, its answer lost: the row is still `posting`.
        "in_flight": post_as_old_release(
            slack, "sentry_issue_card", {"issue_id": issues["in_flight"]}
        ),
        "digest": post_as_old_release(
            slack, "sentry_digest", {"digest_id": 1, "period_end": format_time(P1)}
        ),
        "digest_in_flight": post_as_old_release(
            slack, "sentry_digest", {"digest_id": 1, "period_end": format_time(P2)}
        ),
    }
    ts["reply"] = post_as_old_release(
        slack,
        "sentry_issue_reply",
        {"issue_id": issues["card"], "reply_key": "1.1"},
        thread_ts=ts["card"],
    )
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    engine = create_engine(url)
    statements = (SCHEMAS / f"schema_v2.{dialect}.sql").read_text().split(";")
    cards = [
        # id, role, state, kind, message_ts, claimed
        (1, "card", "posted", "card", ts["card"], None),
        (2, "listed1", "posted", "summary", ts["summary"], None),
        (3, "listed2", "posted", "summary", ts["summary"], None),
        (4, "owed", "owed", "card", None, None),
        (5, "in_flight", "posting", "card", None, LONG_AGO),
        (6, "lost_post", "posting", "card", None, LONG_AGO),  # never reached Slack
        (7, "gone", "posted", "gone", None, None),
    ]
    async with engine.begin() as conn:
        for statement in statements:
            lines = statement.splitlines()
            body = "\n".join(x for x in lines if not x.startswith("--")).strip()
            if body:
                await conn.execute(sa.text(body))
        await conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (2)"))
        await conn.execute(
            sa.text(
                "INSERT INTO routes (id, channel, projects, query, environment, mention, source,"
                " watermark) VALUES (1, :c, 'web', '', '', '', 'file', :w)"
            ),
            {"c": CHANNEL, "w": naive(NOW - timedelta(hours=2))},
        )
        for card_id, role, state, kind, message_ts, claimed in cards:
            await conn.execute(
                sa.text(
                    "INSERT INTO cards (id, channel, issue_id, route_id, project, first_seen,"
                    " state, kind, message_ts, claim_token, claimed_at, posted_at, attempts)"
                    " VALUES (:id, :c, :issue, 1, 'web', :seen, :state, :kind, :ts, :token,"
                    " :claimed, :posted, 0)"
                ),
                {
                    "id": card_id,
                    "c": CHANNEL,
                    "issue": issues[role],
                    "seen": naive(LONG_AGO - timedelta(minutes=card_id)),
                    "state": state,
                    "kind": kind,
                    "ts": message_ts,
                    "token": "old-release" if claimed else None,
                    "claimed": naive(claimed) if claimed else None,
                    "posted": naive(LONG_AGO) if state == "posted" else None,
                },
            )
        for seq, state, reply_ts in ((1, "posted", ts["reply"]), (2, "owed", None)):
            await conn.execute(
                sa.text(
                    "INSERT INTO replies (card_id, seq, channel, issue_id, kind, state,"
                    " message_ts, created_at) VALUES (1, :seq, :c, :issue, 'regressed', :state,"
                    " :ts, :at)"
                ),
                {
                    "seq": seq,
                    "c": CHANNEL,
                    "issue": issues["card"],
                    "state": state,
                    "ts": reply_ts,
                    "at": naive(LONG_AGO),
                },
            )
        await conn.execute(
            sa.text(
                "INSERT INTO digests (id, channel, cron, timezone, projects, top, source,"
                " created_at) VALUES (1, :c, :cron, 'UTC', 'web', 10, 'slack', :at)"
            ),
            {
                "c": CHANNEL,
                "cron": f"{P2.minute} {P2.hour} * * *",
                "at": naive(P1 - timedelta(days=9)),
            },
        )
        for end, state, run_ts in ((P1, "posted", ts["digest"]), (P2, "posting", None)):
            await conn.execute(
                sa.text(
                    "INSERT INTO digest_runs (digest_id, channel, period_start, period_end,"
                    " state, late, message_ts, claim_token, claimed_at) VALUES (1, :c, :start,"
                    " :end, :state, false, :ts, 'old-release', :claimed)"
                ),
                {
                    "c": CHANNEL,
                    "start": naive(end - timedelta(days=1)),
                    "end": naive(end),
                    "state": state,
                    "ts": run_ts,
                    "claimed": naive(LONG_AGO),
                },
            )
    await engine.dispose()
    return Before(issues, ts)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str | None
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3"
        return
    if postgres_url is None:
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
    yield await fresh_postgres_database(postgres_url)


async def test_an_upgraded_database_posts_what_was_owed_and_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(bot_token=TOKENS["SLACK_BOT_TOKEN"]) as slack,
    ):
        sentry.create_project("web")
        slack.add_channel(CHANNEL, "alerts")
        before = await write_version_2(database_url, sentry, slack)
        posted_before = len(slack.calls("chat.postMessage"))
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": "acme",
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": database_url.replace("+aiosqlite", "").replace("+psycopg", ""),
                "POLL_INTERVAL_SECONDS": "60",
            },
            cwd=tmp_path,
        )
        runtime = Runtime(
            settings, BotConfig(routes=(RouteSpec(channel=CHANNEL, projects=("web",)),))
        )
        try:
            await migrate(runtime.engine)
            async with runtime.engine.connect() as conn:
                version = (
                    await conn.execute(sa.text("SELECT version FROM schema_version"))
                ).scalar()
            assert version == LATEST_VERSION == 6
            for _ in range(2):
                await runtime.poller.run_cycle()
            await runtime.digest_runner.reconcile()
            await runtime.digest_runner.catch_up({})
            new_posts = slack.calls("chat.postMessage")[posted_before:]
            rows = {r.key: r for r in await outbox_rows(runtime)}
        finally:
            await runtime.close()
    issues = before.issues
    # Posted after the upgrade: the owed card, the card whose post never reached Slack, and the
    # second reply in the first card's thread; each once, nothing else.
    assert sorted(
        (c.params.get("thread_ts") or "", str(c.params["metadata"]["event_payload"]))
        for c in new_posts
    ) == sorted(
        [
            ("", str({"issue_id": issues["owed"]})),
            ("", str({"issue_id": issues["lost_post"]})),
            (before.ts["card"], str({"issue_id": issues["card"], "reply_key": "1.2"})),
        ]
    )
    # The post whose answer was lost is found in the channel, not posted again.
    assert rows[f"issue:{issues['in_flight']}"].message_ts == before.ts["in_flight"]
    lost = rows[f"issue:{issues['lost_post']}"]
    assert (lost.state, lost.posted_as) == ("posted", "card")
    # A storm summary stays a summary of every issue it lists.
    for role in ("listed1", "listed2"):
        row = rows[f"issue:{issues[role]}"]
        assert (row.posted_as, row.message_ts) == ("summary", before.ts["summary"])
    summary = slack.message(CHANNEL, before.ts["summary"])
    assert summary.metadata == {
        "event_type": "sentry_issue_summary",
        "event_payload": {"issue_ids": f"{issues['listed1']},{issues['listed2']}"},
    }
    assert rows[f"issue:{issues['gone']}"].state == "gone"
    assert rows["reply:1.1"].message_ts == before.ts["reply"]
    assert rows["reply:1.2"].thread_ts == before.ts["card"]
    assert rows[f"digest:1@{format_time(P1)}"].message_ts == before.ts["digest"]
    assert rows[f"digest:1@{format_time(P2)}"].message_ts == before.ts["digest_in_flight"]
    assert {r.state for r in rows.values()} == {"posted", "gone"}


async def outbox_rows(runtime: Runtime) -> list[OutboxRow]:
    async with runtime.engine.connect() as conn:
        return [outbox_row(r) for r in await conn.execute(sa.select(outbox))]
