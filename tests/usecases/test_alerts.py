"""Alerts in process: the bot's poller and delivery, started as `python -m bot` starts them,
against the fake Sentry and the fake Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import CHANNEL, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards_for, top_level
from tests.usecases.conftest import BotFactory


def test_a_new_issue_becomes_exactly_one_card(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "KeyError: 'user'", culprit="app.views in profile")
        other_project = sentry.create_issue("api", "Not routed here")
        slack.wait_for(lambda: len(top_level(slack)) >= 1, timeout=15)
        wait_polls(sentry, 3, bot=bot)

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
    assert bot.returncode == 0


def test_issues_older_than_the_route_are_not_posted(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    sentry.create_issue("web", "Old news", first_seen=datetime.now(UTC) - timedelta(hours=2))
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 3, bot=bot)
    assert slack.messages(CHANNEL) == []


def test_restart_posts_nothing_twice_and_catches_up_on_downtime(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot()
    with bot:
        bot.wait_ready()
        first = sentry.create_issue("web", "Before the restart")
        slack.wait_for(lambda: len(cards_for(slack, first["id"])) == 1, timeout=15)
    # Down: an issue appears that nobody has seen yet.
    during = sentry.create_issue("web", "While the bot was down")
    with bot:
        bot.wait_ready()
        slack.wait_for(lambda: len(cards_for(slack, during["id"])) == 1, timeout=15)
        wait_polls(sentry, 3, bot=bot)
    assert len(cards_for(slack, first["id"])) == 1, bot.log()
    assert len(cards_for(slack, during["id"])) == 1
    assert len(top_level(slack)) == 2


def test_hostile_titles_reach_slack_escaped(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        issue = sentry.create_issue(
            "web",
            "<!channel> <@U0ADMIN> & <https://evil.example|click me>",
            culprit="<!here> in handler",
        )
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
    [card] = cards_for(slack, issue["id"])
    payload = card.text + json.dumps(card.blocks)
    for raw in ("<!channel>", "<@U0ADMIN>", "<https://evil.example", "<!here>"):
        assert raw not in payload
    assert "&lt;!channel&gt; &lt;@U0ADMIN&gt; &amp; &lt;https://evil.example|click me&gt;" in (
        card.text
    )


def test_an_issue_that_comes_back_without_a_card_gets_one(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    old = sentry.create_issue(
        "web", "Fixed long ago", first_seen=datetime.now(UTC) - timedelta(days=3)
    )
    sentry.set_issue_status(old["id"], "resolved")
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 2, bot=bot)
        assert cards_for(slack, old["id"]) == []
        sentry.regress(old["id"])
        slack.wait_for(lambda: len(cards_for(slack, old["id"])) == 1, 20)
        wait_polls(sentry, 6, bot=bot)
    [card] = cards_for(slack, old["id"])
    assert "Regressed" in json.dumps(card.blocks)


def test_changes_show_within_two_polls_on_cards_compared_in_several_requests(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """More cards than one Sentry request compares (100): each cycle's batch spans several
    requests, and a change to any of the issues, early or late in the walk, shows on its
    card within two polls."""
    count = 230  # a batch of 115 cards per cycle: two requests
    # Polls run only when the test says, so "two polls" means two.
    with make_bot(STORM_THRESHOLD="1000", POLL_INTERVAL_SECONDS="3600") as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issues = [sentry.create_issue("web", f"Error{n}: one of many") for n in range(count)]
        bot.poll_now()

        def cards() -> dict[str, str]:
            return {
                m.metadata["event_payload"]["issue_id"]: json.dumps(m.blocks)
                for m in slack.messages(CHANNEL)
                if (m.metadata or {}).get("event_type") == "sentry_issue_card"
            }

        slack.wait_for(lambda: len(cards()) == count, 60)
        changed = [issue["id"] for issue in issues[::23]]  # spread over the whole walk
        for issue_id in changed:
            sentry.set_issue_status(issue_id, "resolved")
        wait_polls(sentry, 2, bot=bot)
        shown = cards()
        assert [i for i in changed if "issue.unresolve" not in shown[i]] == []
        assert all("issue.resolve" in shown[i["id"]] for i in issues if i["id"] not in changed)
