"""Slack listeners: thin adapters from Bolt requests to the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.send import SendToSentry
from bot.digests.service import DigestService
from bot.home.service import HomeService
from bot.routing import RoutingService
from bot.sentry.client import SentryClient
from bot.slack.notifier import SlackNotifier
from bot.store.routes import RouteStore
from bot.triage.service import TriageService
from bot.unfurls.service import Unfurler


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """What listeners may use; built once by the composition root."""

    sentry: SentryClient
    notifier: SlackNotifier
    routes: RouteStore
    triage: TriageService
    digests: DigestService | None = None
    unfurls: Unfurler | None = None
    send_to_sentry: SendToSentry | None = None
    home: HomeService | None = None
    routing: RoutingService | None = None


def build_app(*, client: AsyncWebClient, signing_secret: str, verify_requests: bool) -> AsyncApp:
    """The Bolt app, before listeners: HTTP requests are verified (Socket Mode is authenticated
    by its app-level token instead), listeners run after their ack, and a request no listener
    takes goes to the error handler rather than becoming Bolt's 404."""
    return AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        process_before_response=False,
        raise_error_for_unhandled_request=True,
    )


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    """Bind every listener of the app; the catch-alls and the error handler come last, as Bolt
    runs the first listener that matches."""
    from bot.handlers import card_actions, commands, digest_actions, home, shortcuts, unfurls
    from bot.handlers.fallbacks import Fallbacks

    card_actions.register(app, ctx)
    commands.register(app, ctx)
    digest_actions.register(app, ctx)
    unfurls.register(app, ctx)
    shortcuts.register(app, ctx)
    home.register(app, ctx)
    Fallbacks().register(app)
