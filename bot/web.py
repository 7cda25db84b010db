"""The HTTP listener: `/healthz`, `/readyz` and `/metrics` in both modes, `/slack/events` in
HTTP mode, and `/sentry/webhook` in both modes when Sentry webhooks are enabled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.handlers.http_mode import SlackHttpEndpoint
from bot.metrics import Metrics
from bot.webhooks.endpoint import PATH as SENTRY_WEBHOOK_PATH
from bot.webhooks.endpoint import SentryWebhookEndpoint

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def build_web_app(
    *,
    health: HealthCheck,
    metrics: Metrics,
    slack: SlackHttpEndpoint | None,
    readiness: HealthCheck | None = None,
    sentry_webhook: SentryWebhookEndpoint | None = None,
) -> web.Application:
    """`slack` is given in HTTP mode only: Slack's requests are then verified, read and
    dispatched; bodies over 1 MiB are refused with 413 before that. `sentry_webhook` is
    given when webhooks are enabled; otherwise its path answers 404."""

    async def healthz(_request: web.Request) -> web.Response:
        ready, details = await health()
        return web.json_response(details, status=200 if ready else 503)

    async def metrics_page(_request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"}
        )

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    if readiness is not None:
        check = readiness

        async def readyz(_request: web.Request) -> web.Response:
            ready, details = await check()
            return web.json_response(details, status=200 if ready else 503)

        app.router.add_get("/readyz", readyz)
    if slack is not None:
        app.router.add_post("/slack/events", slack.handle)
    if sentry_webhook is not None:
        app.router.add_post(SENTRY_WEBHOOK_PATH, sentry_webhook.handle)
    return app
