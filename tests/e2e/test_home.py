"""The Home tab through the running process over Socket Mode: Slack delivers `app_home_opened`
as an `events_api` envelope, the app acknowledges it and publishes the person's view."""

from __future__ import annotations

import json

from tests.e2e.conftest import BotFactory
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.home_desk import app_home_opened

ANA = "U0ANA0001"


def test_opening_the_home_tab_over_socket_mode_publishes_the_persons_issues(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    sentry.add_member("ana@example.com", name="Ana Lima")
    issue = sentry.create_issue("web", "KeyError: 'basket'")
    sentry.assign(issue["id"], "ana@example.com")
    with make_bot(socket_mode=True) as process:
        process.wait_ready()
        envelope = slack.send_event(app_home_opened(ANA))
        assert slack.wait_for_ack(envelope, timeout=3) == {"envelope_id": envelope}
        slack.wait_for(lambda: slack.home_view(ANA) is not None, 15)
    home = slack.home_view(ANA)
    assert home is not None
    text = json.dumps(home.view["blocks"])
    assert "KeyError: 'basket'" in text
    assert "issue.resolve" in text
