"""Digest runs against the fakes and a real database, with an injected clock.

The `/sentry digest` command is wired by another module; `DigestService.post_digest_now` is
tested here through the real store, Sentry client and Slack notifier.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config_file import DigestSpec, RouteSpec
from bot.digests.content import REQUESTS_PER_DIGEST, gather_digest
from bot.digests.runner import DigestNotPosted, DigestPosted, DigestRunner
from bot.digests.runs import DigestRuns
from bot.digests.service import DigestService
from bot.metrics import Metrics
from bot.outbox.delivery import Outbox
from bot.outbox.store import POSTED, SKIPPED, OutboxStore
from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.slack.notifier import SlackNotifier
from bot.store.digests import DigestStore
from bot.store.routes import RouteStore
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0DIGEST1"
TOKEN = "sntryu_digest-test-token"
NOW = datetime.now(UTC).replace(second=30, microsecond=0)


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN) as fake:
        fake.create_project("web")
        fake.create_project("api")
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(CHANNEL, "digests")
        yield fake


DIGEST_EVENT = "sentry_digest"


@dataclass
class Bench:
    store: DigestStore
    runs: DigestRuns
    outbox: OutboxStore
    routes: RouteStore
    sentry_client: SentryClient
    notifier: SlackNotifier
    clock: list[datetime]

    def runner(self) -> DigestRunner:
        """One process's runner: its own outbox claims (two of them are two replicas)."""
        return DigestRunner(
            store=self.store,
            runs=self.runs,
            outbox=Outbox(
                store=self.outbox,
                notifier=self.notifier,
                metrics=Metrics(),
                clock=lambda: self.clock[0],
            ),
            routes=self.routes,
            sentry=self.sentry_client,
            notifier=self.notifier,
            clock=lambda: self.clock[0],
        )


@pytest.fixture
async def bench(engine: AsyncEngine, sentry: FakeSentry, slack: FakeSlack) -> AsyncIterator[Bench]:
    async with httpx.AsyncClient(timeout=10) as http:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
        yield Bench(
            store=DigestStore(engine),
            runs=DigestRuns(engine),
            outbox=OutboxStore(engine),
            routes=RouteStore(engine),
            sentry_client=SentryClient(http, base_url=sentry.url, token=Secret(TOKEN), org="acme"),
            notifier=SlackNotifier(client=client, post_client=client, metrics=Metrics()),
            clock=[NOW],
        )


def digests_in(slack: FakeSlack) -> list[object]:
    return [
        m for m in slack.messages(CHANNEL) if (m.metadata or {}).get("event_type") == DIGEST_EVENT
    ]


async def daily_digest_due(bench: Bench, due: datetime) -> int:
    """A file digest firing daily at `due` (UTC), created well before."""
    await bench.store.sync_file_digests(
        [DigestSpec(channel=CHANNEL, cron=f"{due.minute} {due.hour} * * *", projects=("web",))],
        now=NOW - timedelta(days=3),
    )
    [digest] = await bench.store.all()
    return digest.id


async def test_content_is_five_requests(bench: Bench, sentry: FakeSentry) -> None:
    sentry.create_issue("web", "New in period", first_seen=NOW - timedelta(hours=1))
    old = sentry.create_issue("web", "Old but busy", first_seen=NOW - timedelta(days=5), count=40)
    sentry.add_event(old["id"], at=NOW - timedelta(minutes=5))
    sentry.create_issue("api", "Other project", first_seen=NOW - timedelta(hours=1))
    sentry.create_release("web@1.0", ["web"], date_created=NOW - timedelta(hours=2))
    sentry.create_release("api@1.0", ["api"], date_created=NOW - timedelta(hours=2))
    await gather_digest(
        bench.sentry_client, projects=["web"], start=NOW - timedelta(days=2), end=NOW
    )  # the first digest also reads the projects list, to map slugs to ids
    sentry.clear_requests()
    content = await gather_digest(
        bench.sentry_client, projects=["web"], start=NOW - timedelta(days=1), end=NOW
    )
    assert len(sentry.requests) == REQUESTS_PER_DIGEST
    assert [i.title for i in content.new_issues] == ["New in period"]
    assert [i.title for i in content.active] == ["Old but busy", "New in period"]
    assert [r.version for r in content.releases] == ["web@1.0"]
    searches = sentry.requests_matching("GET", "/organizations/acme/issues/")
    web_id = str(sentry.project("web").id)
    assert len(searches) == 4
    assert all(r.params("project") == [web_id] for r in searches)
    assert f"project={web_id}" in content.new_search_url


async def test_a_digest_of_an_unknown_project_names_it_and_posts_nothing(
    bench: Bench, slack: FakeSlack, sentry: FakeSentry
) -> None:
    await bench.routes.sync_file_routes([RouteSpec(channel=CHANNEL, projects=("wbe",))], now=NOW)
    service = DigestService(
        store=bench.store, runner=bench.runner(), scheduler=None, clock=lambda: bench.clock[0]
    )
    outcome = await service.post_digest_now(CHANNEL, requested_by="U0ASKER")
    assert isinstance(outcome, DigestNotPosted)
    assert "Sentry has no project 'wbe' in acme; did you mean web?" in outcome.reason
    assert digests_in(slack) == []
    assert sentry.count("GET", "/organizations/acme/issues/") == 0


async def test_a_missed_period_is_posted_late_once(
    bench: Bench, slack: FakeSlack, sentry: FakeSentry
) -> None:
    due = (NOW - timedelta(hours=2)).replace(second=0)
    sentry.create_issue("web", "Seen before the digest", first_seen=due - timedelta(hours=1))
    digest_id = await daily_digest_due(bench, due)
    runner = bench.runner()
    await runner.catch_up({})
    await runner.catch_up({})
    [message] = digests_in(slack)
    assert message.metadata["event_payload"]["digest_id"] == digest_id  # type: ignore[attr-defined]
    assert "posted late" in json.dumps(message.blocks)  # type: ignore[attr-defined]
    assert "Seen before the digest" in json.dumps(message.blocks)  # type: ignore[attr-defined]
    [run] = await bench.runs.runs(digest_id)
    assert (run.state, run.late, run.period_end) == (POSTED, True, due)
    assert run.period_start == due - timedelta(days=1)


async def test_a_digest_overdue_by_a_whole_period_is_skipped_with_a_log_line(
    bench: Bench, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # Fires at h1 and h1+1 every day: the h1+1 run's period is one hour, and it is 3 h overdue.
    due = (NOW - timedelta(hours=3)).replace(second=0)
    h2, h1 = due.hour, (due.hour - 1) % 24
    await bench.store.sync_file_digests(
        [DigestSpec(channel=CHANNEL, cron=f"{due.minute} {h1},{h2} * * *")],
        now=NOW - timedelta(days=3),
    )
    with caplog.at_level(logging.WARNING):
        await bench.runner().catch_up({})
        await bench.runner().catch_up({})
    assert digests_in(slack) == []
    [run] = await bench.runs.runs()
    assert run.state == SKIPPED
    assert len([r for r in caplog.records if "skipped the period" in r.getMessage()]) == 1


async def test_two_replicas_firing_together_post_once(bench: Bench, slack: FakeSlack) -> None:
    due = NOW.replace(second=0)
    digest_id = await daily_digest_due(bench, due)
    first, second = bench.runner(), bench.runner()
    await asyncio.gather(first.run_scheduled(digest_id), second.run_scheduled(digest_id))
    await first.catch_up({})
    assert len(digests_in(slack)) == 1
    [run] = await bench.runs.runs(digest_id)
    assert (run.state, run.late) == (POSTED, False)


async def test_a_post_whose_answer_was_lost_is_found_not_repeated(
    bench: Bench, slack: FakeSlack
) -> None:
    due = NOW.replace(second=0)
    digest_id = await daily_digest_due(bench, due)
    slack.drop_next("chat.postMessage")
    runner = bench.runner()
    outcome = await runner.post_period(
        (await bench.store.all())[0], period_end=due, scheduled_for=None
    )
    assert isinstance(outcome, DigestNotPosted)
    assert len(digests_in(slack)) == 1  # Slack has it; the bot does not know
    bench.clock[0] = NOW + timedelta(minutes=3)
    await runner.reconcile()
    await runner.catch_up({})
    assert len(digests_in(slack)) == 1
    [run] = await bench.runs.runs(digest_id)
    assert run.state == POSTED
    assert run.message_ts == digests_in(slack)[0].ts  # type: ignore[attr-defined]


async def test_a_post_that_never_happened_is_posted_by_the_catch_up(
    bench: Bench, slack: FakeSlack
) -> None:
    due = NOW.replace(second=0)
    digest_id = await daily_digest_due(bench, due)
    slack.fail_next("chat.postMessage", status=500)
    runner = bench.runner()
    await runner.run_scheduled(digest_id)
    assert digests_in(slack) == []
    bench.clock[0] = NOW + timedelta(minutes=3)
    await runner.reconcile()
    await runner.catch_up({})
    [message] = digests_in(slack)
    assert "posted late" in json.dumps(message.blocks)  # type: ignore[attr-defined]


async def test_digest_now_without_a_schedule_covers_the_routed_projects(
    bench: Bench, slack: FakeSlack, sentry: FakeSentry
) -> None:
    await bench.routes.sync_file_routes([RouteSpec(channel=CHANNEL, projects=("web",))], now=NOW)
    sentry.create_issue("web", "Web breaks", first_seen=NOW - timedelta(hours=3))
    sentry.create_issue("api", "Api breaks", first_seen=NOW - timedelta(hours=3))
    sentry.create_issue("web", "Two days ago", first_seen=NOW - timedelta(days=2))
    service = DigestService(
        store=bench.store, runner=bench.runner(), scheduler=None, clock=lambda: bench.clock[0]
    )
    outcome = await service.post_digest_now(CHANNEL, requested_by="U0ASKER")
    assert isinstance(outcome, DigestPosted)
    assert outcome.period_end - outcome.period_start == timedelta(hours=24)
    [message] = digests_in(slack)
    rendered = json.dumps(message.blocks)  # type: ignore[attr-defined]
    assert "Web breaks" in rendered
    assert "Api breaks" not in rendered
    assert "Two days ago" not in rendered
    assert "on demand" in rendered


async def test_schedule_replace_describe_and_remove_a_channel_digest(bench: Bench) -> None:
    service = DigestService(
        store=bench.store, runner=bench.runner(), scheduler=None, clock=lambda: bench.clock[0]
    )
    await bench.store.sync_file_digests([DigestSpec(channel=CHANNEL, cron="0 8 * * 1")], now=NOW)
    await service.schedule_channel_digest(
        CHANNEL, cron="0 9 * * *", timezone="Europe/Berlin", created_by="U1"
    )
    made = await service.schedule_channel_digest(
        CHANNEL, cron="0 9 * * mon", timezone="Europe/Berlin", created_by="U2"
    )
    described = await service.describe_channel_digests(CHANNEL)
    assert [(d.cron, d.source) for d in described] == [
        ("0 8 * * 1", "file"),
        ("0 9 * * mon", "slack"),
    ]
    assert made.created_by == "U2"
    with pytest.raises(ValueError, match="IANA"):
        await service.schedule_channel_digest(
            CHANNEL, cron="0 9 * * *", timezone="Mars/Base", created_by=None
        )
    assert await service.remove_channel_digest(CHANNEL) is True
    assert await service.remove_channel_digest(CHANNEL) is False
    assert [d.source for d in await service.describe_channel_digests(CHANNEL)] == ["file"]
