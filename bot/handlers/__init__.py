"""Slack listeners: thin adapters from Bolt requests to the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.digests.service import DigestService
from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.slack.notifier import SlackNotifier
from bot.store.cards import CardStore
from bot.store.routes import RouteStore
from bot.triage.cards import CardUpdater
from bot.triage.service import TriageService


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """What listeners may use; built once by the composition root."""

    sentry: SentryClient
    notifier: SlackNotifier
    routes: RouteStore
    cards: CardStore
    metrics: Metrics
    triage: TriageService
    updater: CardUpdater
    digests: DigestService | None = None


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    """Bind every listener of the app."""
    from bot.handlers import card_actions, commands, digest_actions

    card_actions.register(app, ctx)
    commands.register(app, ctx)
    digest_actions.register(app, ctx)
