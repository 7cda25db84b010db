"""Builds the process's long-lived objects once from the settings (Sentry's HTTP client, Slack's
Web API clients, the database engine and stores, the scheduler, the use cases and the Bolt app
with its listeners), passes each its dependencies explicitly, and closes the clients."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.delivery import Delivery
from bot.alerts.freshness import Freshness
from bot.alerts.poller import Poller
from bot.card.redraw import CardUpdater
from bot.card.replies import ReplyStore
from bot.card.store import CardStore
from bot.config_file import BotConfig
from bot.conversation.notes import ActivityNotes, CommentWriter
from bot.conversation.send import SendToSentry
from bot.conversation.store import CommentStore
from bot.conversation.sync import CommentSync
from bot.credentials import (
    SLACK_AUTH_ERRORS,
    SlackAnswerWatch,
    check_sentry_token,
    check_slack_bot_token,
)
from bot.digests.runner import DigestRunner
from bot.digests.runs import DigestRuns
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.handlers import HandlerContext, build_app, register
from bot.home.service import HomeService
from bot.metrics import Metrics
from bot.outbox.delivery import Outbox
from bot.outbox.store import OutboxStore
from bot.readiness import CredentialWatch, Readiness
from bot.routing import RoutingService
from bot.sentry.client import SentryClient, time_limits
from bot.sentry.links import SentryWeb
from bot.settings import Settings
from bot.slack.card import build_compact_card, build_issue_card
from bot.slack.home_screen import SlackHomeScreen
from bot.slack.messages import SlackMessages
from bot.slack.notifier import SlackNotifier
from bot.slack.profiles import SlackProfiles
from bot.slack.replies.links import SentryLinks
from bot.slack.retries import CappedRateLimitRetryHandler
from bot.slack.usergroups import SlackUserGroups
from bot.store.actions import ActionLog
from bot.store.database import create_engine
from bot.store.digests import DigestStore
from bot.store.leases import LeaseStore
from bot.store.routes import RouteStore
from bot.triage.directory import MemberDirectory
from bot.triage.identity import IdentityResolver
from bot.triage.service import TriageService
from bot.unfurls.live import LiveUnfurls
from bot.unfurls.service import Unfurler
from bot.unfurls.slack import SlackUnfurls
from bot.unfurls.store import UnfurlStore
from bot.webhooks.dispatch import WebhookDispatcher
from bot.webhooks.endpoint import SentryWebhookEndpoint
from bot.webhooks.queue import WebhookQueue

SLACK_TIMEOUT_SECONDS = 15
# Longest a single Slack call may sleep on rate limits (never more than one poll interval);
# a longer Retry-After parks only the channel concerned.
SLACK_RATE_LIMIT_WAIT_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def instance_name() -> str:
    """This replica's name in the poll lease: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Factory:
    """Every long-lived object of the process, built once; `aclose()` closes the clients.

    Slack's and Sentry's answers are watched as they pass (a refused token is checked again,
    a success clears it), so the credential watches learn of a revoked token from regular
    traffic rather than by asking on a timer.
    """

    def __init__(
        self, settings: Settings, config: BotConfig, *, on_ready: Callable[[bool], None]
    ) -> None:
        self.settings = settings
        self.config = config
        self.metrics = Metrics()
        self._on_ready = on_ready
        self.readiness = readiness = Readiness(on_change=self._readiness_changed)
        self.engine = create_engine(settings.database_url)
        self.routes = RouteStore(self.engine)
        self.cards = CardStore(self.engine)
        self.leases = LeaseStore(self.engine)
        self.digest_store = DigestStore(self.engine)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0),
            headers={"User-Agent": "sentry-slack-triage"},
            event_hooks={
                "request": [self._mark_sentry_request],
                "response": [self._count_sentry_response],
            },
        )
        self.sentry = SentryClient(
            self.http,
            base_url=settings.sentry_base_url,
            token=settings.sentry_token,
            org=settings.sentry_org,
            **time_limits(settings.poll_interval_seconds),
        )
        # Set by whoever keeps Socket Mode connected: told of each `apps.connections.open`.
        self.on_connections_open: list[Callable[[str | None], None]] = []
        self.slack, self.slack_posts = self._slack_clients()
        self.notifier = SlackNotifier(
            client=self.slack, post_client=self.slack_posts, metrics=self.metrics
        )
        # A claim older than this was made by a process that is gone, or whose post has long
        # returned: longer than a Slack call can take, and than two poll cycles.
        settle_after = timedelta(
            seconds=max(120, 4 * SLACK_TIMEOUT_SECONDS, 2 * settings.poll_interval_seconds)
        )
        self.outbox = Outbox(
            store=OutboxStore(self.engine),
            notifier=self.notifier,
            metrics=self.metrics,
            clock=utc_now,
            settle_after=settle_after,
        )
        self.delivery = Delivery(
            cards=self.cards,
            outbox=self.outbox,
            sentry=self.sentry,
            metrics=self.metrics,
            clock=utc_now,
            storm_threshold=settings.storm_threshold,
        )
        self.live_unfurls = LiveUnfurls(
            store=UnfurlStore(self.engine),
            screen=SlackUnfurls(self.slack),
            draw=build_compact_card,
            clock=utc_now,
            retention=timedelta(days=settings.card_retention_days),
        )
        self.updater = CardUpdater(
            sentry=self.sentry,
            cards=self.cards,
            screen=self.outbox,
            draw=build_issue_card,
            clock=utc_now,
            unfurls=self.live_unfurls,
        )
        self.comment_store = CommentStore(self.engine)
        self.comment_writer = CommentWriter(
            sentry=self.sentry, store=self.comment_store, clock=utc_now
        )
        self.notes = ActivityNotes(
            writer=self.comment_writer, metrics=self.metrics, enabled=settings.activity_notes
        )
        self.comments = CommentSync(
            sentry=self.sentry,
            cards=self.cards,
            store=self.comment_store,
            writer=self.comment_writer,
            outbox=self.outbox,
            metrics=self.metrics,
            clock=utc_now,
            retention=timedelta(days=settings.card_retention_days),
        )
        directory = MemberDirectory(self.sentry)
        self.triage = TriageService(
            sentry=self.sentry,
            identities=IdentityResolver(
                slack=SlackProfiles(self.slack), directory=directory, org=settings.sentry_org
            ),
            directory=directory,
            updater=self.updater,
            log=ActionLog(self.engine),
            metrics=self.metrics,
            clock=utc_now,
            notes=self.notes,
        )
        self.unfurler = Unfurler(
            sentry=self.sentry,
            web=SentryWeb.from_base_url(settings.sentry_base_url, settings.sentry_org),
            viewers=self.triage,
            screen=SlackUnfurls(self.slack),
            draw=build_compact_card,
            ledger=self.live_unfurls,
        )
        self.freshness = Freshness(
            sentry=self.sentry,
            cards=self.cards,
            replies=ReplyStore(self.engine),
            updater=self.updater,
            outbox=self.outbox,
            clock=utc_now,
            retention=timedelta(days=settings.card_retention_days),
            broadcast=settings.regression_broadcast,
            comments=self.comments,
            unfurls=self.live_unfurls,
        )
        self.poller = Poller(
            sentry=self.sentry,
            routes=self.routes,
            cards=self.cards,
            delivery=self.delivery,
            freshness=self.freshness,
            metrics=self.metrics,
            clock=utc_now,
            reconcile_after=settle_after,
            # Replicas (one PostgreSQL database) acting on webhooks post cards without leading.
            others_post_cards=(
                settings.sentry_webhook_secret is not None
                and self.engine.dialect.name == "postgresql"
            ),
        )
        self.webhook_queue = WebhookQueue(self.engine)
        self.webhooks: WebhookDispatcher | None = None
        self.webhook_endpoint: SentryWebhookEndpoint | None = None
        if settings.sentry_webhook_secret is not None:
            self.webhooks = WebhookDispatcher(
                queue=self.webhook_queue,
                sentry=self.sentry,
                routes=self.routes,
                cards=self.cards,
                delivery=self.delivery,
                freshness=self.freshness,
                comments=self.comments,
                metrics=self.metrics,
                clock=utc_now,
            )
            self.webhook_endpoint = SentryWebhookEndpoint(
                secret=settings.sentry_webhook_secret,
                queue=self.webhook_queue,
                metrics=self.metrics,
                clock=utc_now,
                wake=self.webhooks.wake,
            )
        readiness.show("sentry_webhooks", self._webhook_facts)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.digest_runner = DigestRunner(
            store=self.digest_store,
            runs=DigestRuns(self.engine),
            outbox=self.outbox,
            routes=self.routes,
            sentry=self.sentry,
            notifier=self.notifier,
            clock=utc_now,
        )
        self.digest_scheduler = DigestScheduler(
            scheduler=self.scheduler,
            store=self.digest_store,
            runner=self.digest_runner,
            clock=utc_now,
        )
        self.bolt = build_app(
            client=self.slack,
            signing_secret=(
                settings.slack_signing_secret.reveal() if settings.slack_signing_secret else ""
            ),
            verify_requests=not settings.socket_mode,
        )
        digests = DigestService(
            store=self.digest_store,
            runner=self.digest_runner,
            scheduler=self.digest_scheduler,
            clock=utc_now,
        )
        register(
            self.bolt,
            HandlerContext(
                sentry=self.sentry,
                notifier=self.notifier,
                routes=self.routes,
                triage=self.triage,
                digests=digests,
                home=HomeService(
                    sentry=self.sentry,
                    identities=self.triage.identities,
                    routes=self.routes,
                    digests=self.digest_store,
                    screen=SlackHomeScreen(self.slack),
                    links=SentryLinks(web_base=self.sentry.web_base, org=self.sentry.org),
                ),
                routing=RoutingService(
                    sentry=self.sentry,
                    identities=self.triage.identities,
                    routes=self.routes,
                    digests=digests,
                    digest_store=self.digest_store,
                    log=ActionLog(self.engine),
                    clock=utc_now,
                    groups=SlackUserGroups(self.slack),
                ),
                unfurls=self.unfurler,
                send_to_sentry=SendToSentry(
                    identify=self.triage.identify,
                    sentry=self.sentry,
                    store=self.comment_store,
                    writer=self.comment_writer,
                    slack=SlackMessages(self.slack),
                ),
            ),
        )
        self.slack_watch = CredentialWatch(
            subject="slack_bot_token",
            check=lambda: check_slack_bot_token(self.slack),
            readiness=readiness,
            checking="SLACK_BOT_TOKEN with Slack",
            cleared="Slack accepts SLACK_BOT_TOKEN",
        )
        self.sentry_watch = CredentialWatch(
            subject="sentry_token",
            check=lambda: check_sentry_token(self.sentry),
            readiness=readiness,
            checking="SENTRY_TOKEN with Sentry",
            cleared=f"Sentry accepts SENTRY_TOKEN for organization {settings.sentry_org}",
        )

    def _webhook_facts(self) -> dict[str, str | None]:
        """Whether Sentry webhooks are accepted, and when this replica last received one."""
        endpoint = self.webhook_endpoint
        last = endpoint.last_received if endpoint is not None else None
        return {
            "state": "configured" if endpoint is not None else "off",
            "last_received": last.isoformat() if last is not None else None,
        }

    def _readiness_changed(self, ready: bool) -> None:
        self.metrics.ready.set(1 if ready else 0)
        self._on_ready(ready)

    def _slack_clients(self) -> tuple[AsyncWebClient, AsyncWebClient]:
        """The client for reads and edits, and the one for posts."""
        settings = self.settings
        token = settings.slack_bot_token.reveal()
        rate_wait = min(SLACK_RATE_LIMIT_WAIT_SECONDS, float(settings.poll_interval_seconds))
        answers = SlackAnswerWatch(self._slack_answered)
        client = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
            retry_handlers=[
                answers,
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                CappedRateLimitRetryHandler(max_retry_count=3, max_wait=rate_wait),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        # Posts are retried only on 429 (never posted); any other failure is settled
        # by reading the channel history, so a post is never made twice.
        posts = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
            retry_handlers=[
                answers,
                CappedRateLimitRetryHandler(max_retry_count=5, max_wait=rate_wait),
            ],
        )
        return client, posts

    async def _mark_sentry_request(self, request: httpx.Request) -> None:
        request.extensions["started"] = time.monotonic()

    async def _count_sentry_response(self, response: httpx.Response) -> None:
        self.metrics.sentry_requests.labels(f"{response.status_code // 100}xx").inc()
        if response.status_code == 401:
            self.sentry_watch.saw_refusal()
        elif response.status_code < 300:
            self.sentry_watch.saw_success()
        started = response.request.extensions.get("started")
        if isinstance(started, float):
            self.metrics.sentry_seconds.observe(time.monotonic() - started)

    def _slack_answered(self, method: str, error: str | None) -> None:
        """Every Slack Web API answer: a refused token is checked again, and a success while
        one is marked refused too (it may work again)."""
        if method == "apps.connections.open":
            for callback in self.on_connections_open:
                callback(error)
            return
        if error in SLACK_AUTH_ERRORS:
            self.slack_watch.saw_refusal()
        elif error is None:
            self.slack_watch.saw_success()

    @property
    def credentials_refused(self) -> bool:
        """Slack or Sentry refuses the bot's token: a poll cycle could only fail."""
        return self.slack_watch.refused or self.sentry_watch.refused

    async def aclose(self) -> None:
        """Close the clients; the caller has stopped everything that uses them. Activity
        comments still being written get a few seconds first."""
        await self.notes.drain(within=5.0)
        await self.http.aclose()
        await self.engine.dispose()
