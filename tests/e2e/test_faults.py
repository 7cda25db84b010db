"""Faults seen from outside the running process: metrics and JSON logs say what happened and
never leak a token; Socket Mode comes up while Slack is unreachable. Outages, refusals, rate
limits and storms run in process in tests/usecases/test_faults.py."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import BotFactory, wait_polls
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards, health

pytestmark = pytest.mark.e2e


def test_metrics_and_json_logs_without_tokens(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot(LOG_FORMAT="json", LOG_LEVEL="DEBUG") as bot:
        bot.wait_ready()
        issue = sentry.create_issue("web", "Counted")
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 15)
        wait_polls(sentry, 1)
        metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
    for name in (
        'sentry_slack_polls_total{outcome="ok"}',
        'sentry_slack_sentry_requests_total{outcome="2xx"}',
        "sentry_slack_sentry_request_seconds_count",
        'sentry_slack_slack_calls_total{method="chat.postMessage",outcome="ok"}',
        'sentry_slack_slack_call_seconds_count{method="chat.postMessage"}',
        'sentry_slack_cards_posted_total{kind="card"}',
        "sentry_slack_poll_leader 1.0",
    ):
        assert name in metrics
    log = bot.log()
    for line in log.splitlines():
        json.loads(line)
    for secret in TOKENS.values():
        assert secret not in log


def test_socket_mode_comes_up_healthy_while_slack_is_unreachable(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.fail_next("apps.connections.open", 4, status=503)
    with make_bot(socket_mode=True) as bot:
        bot.wait_ready()
        degraded = health(bot)["degraded"]
        assert any("Socket Mode is not connected" in str(p) for p in degraded)  # type: ignore[union-attr]
        slack.wait_connected(timeout=30)
        issue = sentry.create_issue("web", "Delivered once connected")
        slack.wait_for(lambda: len(cards(slack, issue["id"])) == 1, 15)
        bot.wait_for_log("Socket Mode connected")
        assert health(bot)["degraded"] == []
