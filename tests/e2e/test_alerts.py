"""Alerts end to end: `python -m bot` against the fake Sentry and the fake Slack.

The delivery rules run in process in tests/usecases/test_alerts.py; these scenarios keep a card
from a real process in HTTP and Socket Mode, and a crash between post and acknowledgement."""

from __future__ import annotations

import json
import signal

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards_for, top_level

pytestmark = pytest.mark.e2e


def test_a_new_issue_becomes_exactly_one_card(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1)
        issue = sentry.create_issue("web", "KeyError: 'user'", culprit="app.views in profile")
        other_project = sentry.create_issue("api", "Not routed here")
        slack.wait_for(lambda: len(top_level(slack)) >= 1, timeout=15)
        wait_polls(sentry, 3)

        [card] = top_level(slack)
        assert card.text == "[web] KeyError: 'user': app.views in profile"
        assert card.metadata == {
            "event_type": "sentry_issue_card",
            "event_payload": {"issue_id": issue["id"]},
        }
        rendered = json.dumps(card.blocks)
        assert issue["shortId"] in rendered
        assert "issue.resolve" in rendered
        assert cards_for(slack, other_project["id"]) == []
        # The bot always says which issues it means: never Sentry's default query.
        polls = sentry.requests_matching("GET", "/organizations/acme/issues/")
        assert all(r.param("query") is not None for r in polls)
    assert bot.process is not None
    assert bot.process.returncode == 0


def test_a_post_whose_answer_was_lost_is_not_repeated_after_a_crash(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot()
    # Slack posts the card, but the bot never hears back; then the bot is killed.
    slack.drop_next("chat.postMessage")
    with bot:
        bot.wait_ready()
        issue = sentry.create_issue("web", "Lost acknowledgement")
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
        bot.wait_for_log("may or may not have reached Slack")
        bot.stop(signal.SIGKILL)
    with bot:
        bot.wait_ready()
        bot.wait_for_log(f"reconciled issue {issue['id']} in {CHANNEL}: already posted")
        wait_polls(sentry, 2)
    assert len(cards_for(slack, issue["id"])) == 1


def test_socket_mode_delivers_the_same_card(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot(socket_mode=True) as bot:
        bot.wait_ready()
        slack.wait_connected(timeout=10)
        issue = sentry.create_issue("web", "Socket Mode works")
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
    assert any(c.method == "apps.connections.open" for c in slack.calls())


def test_sigterm_right_after_start_exits_cleanly(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """A stop that lands while the first scheduled runs (poll, lease, digest sync) are still
    in their database calls lets them finish instead of cancelling them mid-query, which left
    the process unable to exit. Three starts, since the runs' timing varies."""
    bot = make_bot()
    for _ in range(3):
        bot.start()
        bot.wait_ready()
        assert bot.stop(timeout=25) == 0
        assert "Traceback" not in bot.log()
