"""Sentry links shared in Slack, through the running process: a `link_shared` event in Socket
Mode and in HTTP mode becomes a compact card unfurled under the message, and a click on that
card resolves the issue and redraws the unfurl."""

from __future__ import annotations

import json

from tests.e2e.conftest import BotFactory, searches
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.triage_desk import option_value
from tests.unfurl_desk import (
    ANA,
    click_unfurl,
    deliver_http,
    deliver_socket,
    issue_url,
    seed_people,
    send_click,
    share,
)


def test_socket_mode_unfurls_a_shared_link_and_triage_redraws_it(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    seed_people(sentry, slack)
    issue = sentry.create_issue("web", "SocketError: closed")
    url = issue_url(sentry, issue["id"])
    with make_bot(socket_mode=True, POLL_INTERVAL_SECONDS="3600") as process:
        process.wait_ready()
        # The start-up cycle has run (searched; what it compares follows at once): no cycle
        # runs during the scenario, so every chat.unfurl counted below is the share's or the
        # click's.
        sentry.wait_for(lambda: searches(sentry) >= 1, 20)
        shared = share(slack, ANA, [url])
        ack = deliver_socket(slack, shared)
        assert set(ack) == {"envelope_id"}
        blocks = shared.wait_unfurled(1)[url]["blocks"]
        assert "SocketError: closed" in json.dumps(blocks)
        payload, _ = click_unfurl(
            slack,
            shared,
            url,
            "issue.resolve",
            option_value(blocks, "issue.resolve", "Resolve now"),
        )
        envelope = slack.send_envelope("interactive", payload)
        slack.wait_for_ack(envelope, timeout=3)
        slack.wait_for(lambda: "Resolved by" in json.dumps(shared.unfurls()), 15)
    assert sentry.issue(issue["id"])["status"] == "resolved"
    assert len(slack.calls("chat.unfurl")) == 2


def test_http_mode_unfurls_a_shared_link_and_triage_redraws_it(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    seed_people(sentry, slack)
    issue = sentry.create_issue("web", "HttpError: 502")
    url = issue_url(sentry, issue["id"])
    with make_bot(POLL_INTERVAL_SECONDS="3600") as process:
        process.wait_ready()
        shared = share(slack, ANA, [url])
        reply = deliver_http(process.url, shared)
        assert reply.status == 200
        assert reply.elapsed < 3.0  # Slack's acknowledgement budget for events
        blocks = shared.wait_unfurled(1)[url]["blocks"]
        unsigned = sr.post_to_bot(
            f"{process.url}/slack/events",
            sr.event_body(sr.event_callback(shared.event)),
            {"Content-Type": sr.JSON},
        )
        assert unsigned.status == 401
        payload, _ = click_unfurl(
            slack,
            shared,
            url,
            "issue.resolve",
            option_value(blocks, "issue.resolve", "Resolve now"),
        )
        assert send_click(process.url, payload).status == 200
        slack.wait_for(lambda: "Resolved by" in json.dumps(shared.unfurls()), 15)
    assert sentry.issue(issue["id"])["status"] == "resolved"
    assert len(slack.calls("chat.unfurl")) == 2
