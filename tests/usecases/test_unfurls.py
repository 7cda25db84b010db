"""Sentry links shared in Slack, in process: `link_shared` events signed and sent to the bot's
endpoint through Bolt's dispatch, issues read from the fake Sentry, cards unfurled in the fake
Slack, and triage from an unfurled card."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.sentry.ids import IssueId
from bot.slack.actions import OP_ASSIGN, ActionValue
from bot.store.actions import ActionLog
from bot.unfurls.store import UnfurlStore
from tests.command_flows import command, rendered
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import TOKENS
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_method_rules import MANIFEST_BOT_SCOPES
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import ApiCall
from tests.inprocess import InProcessBot
from tests.slack_views import cards_for
from tests.triage_desk import Desk, option_value
from tests.unfurl_desk import (
    ANA,
    BEA,
    GUEST,
    NOBODY,
    OUTSIDER,
    click_unfurl,
    deliver_http,
    issue_url,
    seed_people,
    send_click,
    share,
)
from tests.usecases.conftest import BotFactory
from tests.usecases.test_webhooks import drained, started


@pytest.fixture
def bot(make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack) -> Iterator[InProcessBot]:
    seed_people(sentry, slack)
    with make_bot(POLL_INTERVAL_SECONDS="3600") as running:
        running.wait_ready()
        yield running


def wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    """Until `predicate()` holds, looked at every 50 ms; fails after `timeout` seconds."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        done.wait(0.05)
    assert predicate(), "condition not met in time"


def unfurl_calls(slack: FakeSlack) -> list[ApiCall]:
    return list(slack.calls("chat.unfurl"))


def test_a_shared_issue_link_unfurls_into_a_compact_card(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "KeyError: 'user' <!channel>", count=12, user_count=3)
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    reply = deliver_http(bot.url, shared)
    assert reply.status == 200
    assert reply.elapsed < 1.0
    unfurls = shared.wait_unfurled(1)
    text = json.dumps(unfurls[url]["blocks"])
    for fact in ("KeyError", issue["shortId"], "web", "12 events", "3 users", "Unassigned"):
        assert fact in text
    assert "<!channel>" not in text
    assert "issue.resolve" in text
    assert len(unfurl_calls(slack)) == 1


def test_several_links_in_one_message_unfurl_together(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    first = sentry.create_issue("web", "ZeroDivisionError")
    second = sentry.create_issue("api", "TimeoutError")
    by_short_id = f"{sentry.url}/organizations/acme/issues/{second['shortId']}/events/abc/"
    urls = [
        issue_url(sentry, first["id"]),
        by_short_id,
        f"{issue_url(sentry, second['id'])}?project=2",
        "https://example.com/not-sentry",
        f"{sentry.url}/organizations/other/issues/{first['id']}/",
    ]
    shared = share(slack, ANA, urls)
    deliver_http(bot.url, shared)
    unfurls = shared.wait_unfurled(3)
    assert set(unfurls) == set(urls[:3])
    assert "ZeroDivisionError" in json.dumps(unfurls[urls[0]])
    assert "TimeoutError" in json.dumps(unfurls[urls[1]])
    assert len(unfurl_calls(slack)) == 1  # one chat.unfurl for the message
    bot.wait_for_log("unfurled 3 Sentry link")


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (NOBODY, "No member of the Sentry organization"),
        (GUEST, "Guests of this workspace"),
        (OUTSIDER, "Only members of this workspace"),
    ],
)
def test_links_shared_by_guests_unmapped_people_or_outsiders_stay_links(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack, user: str, reason: str
) -> None:
    issue = sentry.create_issue("web", "KeyError")
    shared = share(slack, user, [issue_url(sentry, issue["id"])])
    assert deliver_http(bot.url, shared).status == 200
    bot.wait_for_log(f"not unfurling Sentry links shared by {user}: {reason}")
    assert unfurl_calls(slack) == []
    assert slack.ephemerals() == []
    assert sentry.requests_matching("GET", f"/issues/{issue['id']}/") == []


def test_a_billing_member_sees_the_card(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "KeyError")
    shared = share(slack, BEA, [issue_url(sentry, issue["id"])])
    deliver_http(bot.url, shared)
    shared.wait_unfurled(1)


def test_a_channel_shared_with_another_organization_gets_no_cards(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "KeyError")
    shared = share(slack, ANA, [issue_url(sentry, issue["id"])])
    deliver_http(bot.url, shared, is_ext_shared_channel=True)
    bot.wait_for_log("shared with another organization are not unfurled")
    assert unfurl_calls(slack) == []


def test_an_unknown_issue_unfurls_to_nothing(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    shared = share(slack, ANA, [issue_url(sentry, 987654321), issue_url(sentry, "NOPE-1")])
    assert deliver_http(bot.url, shared).status == 200
    bot.wait_for_log("which Sentry does not know")
    bot.wait_for_log("NOPE-1, which Sentry does not know")
    assert unfurl_calls(slack) == []
    assert slack.ephemerals() == []


def test_a_failing_sentry_leaves_plain_links_and_the_bot_serving(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    broken = sentry.create_issue("web", "Broken")
    fine = sentry.create_issue("web", "Fine")
    sentry.fail_next(20, status=503, path_contains=f"/issues/{broken['id']}/")
    urls = [issue_url(sentry, broken["id"]), issue_url(sentry, fine["id"])]
    shared = share(slack, ANA, urls)
    deliver_http(bot.url, shared)
    unfurls = shared.wait_unfurled(1, timeout=30)
    assert set(unfurls) == {urls[1]}
    bot.wait_for_log(f"could not read shared issue {broken['id']} from Sentry")
    assert bot.alive
    assert slack.ephemerals() == []
    assert slack.response_posts() == []


def test_triage_from_an_unfurled_card_changes_sentry_and_redraws_that_card(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError")
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    blocks = shared.wait_unfurled(1)[url]["blocks"]
    value = option_value(blocks, "issue.resolve", "Resolve now")
    payload, _ = click_unfurl(slack, shared, url, "issue.resolve", value)
    reply = send_click(bot.url, payload)
    assert reply.status == 200
    slack.wait_for(lambda: "Resolved by" in json.dumps(shared.unfurls()), 10)
    assert sentry.issue(issue["id"])["status"] == "resolved"
    redrawn = json.dumps(shared.unfurls()[url]["blocks"])
    assert f"<@{ANA}>" in redrawn
    assert "issue.unresolve" in redrawn
    assert "issue.resolve" not in redrawn
    message = slack.message("C0ALERTS1", shared.ts)
    assert message.unfurl_calls == 2
    assert list(message.unfurls) == [url]
    assert bot.runtime is not None
    log = ActionLog(bot.runtime.engine)
    # The unfurl is redrawn with the issue's other cards, before the action is logged as done.
    wait_until(lambda: [r.result for r in bot.call(log.recent())] == ["ok"], 10)
    [record] = bot.call(log.recent())
    assert (record.source, record.slack_user, record.action, record.result) == (
        "unfurl",
        ANA,
        "resolve.now",
        "ok",
    )
    assert record.issue_ids == (issue["id"],)


def test_triage_from_an_unfurl_is_refused_to_who_may_not_triage(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError")
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    blocks = shared.wait_unfurled(1)[url]["blocks"]
    value = option_value(blocks, "issue.resolve", "Resolve now")
    payload, response_url = click_unfurl(slack, shared, url, "issue.resolve", value, user=BEA)
    assert send_click(bot.url, payload).status == 200
    slack.wait_for(lambda: any(p.url == response_url for p in slack.response_posts()), 10)
    [answer] = [p.body for p in slack.response_posts() if p.url == response_url]
    assert "billing" in answer["text"]
    assert sentry.requests_matching("PUT", f"/issues/{issue['id']}/") == []
    assert slack.message("C0ALERTS1", shared.ts).unfurl_calls == 1
    assert bot.runtime is not None
    [record] = bot.call(ActionLog(bot.runtime.engine).recent())
    assert (record.source, record.slack_user, record.result) == ("unfurl", BEA, "refused")


def test_an_installation_without_links_write_says_to_reinstall(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.set_scopes(MANIFEST_BOT_SCOPES - {"links:write"})
    issue = sentry.create_issue("web", "KeyError")
    shared = share(slack, ANA, [issue_url(sentry, issue["id"])])
    assert deliver_http(bot.url, shared).status == 200
    bot.wait_for_log("the bot token lacks links:write; reinstall the app")
    assert shared.unfurls() == {}
    assert slack.ephemerals() == []
    assert bot.alive


def test_ignoring_for_n_events_from_an_unfurl_redraws_it_after_the_dialog(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError")
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    blocks = shared.wait_unfurled(1)[url]["blocks"]
    options = [
        option
        for block in blocks
        for element in block.get("elements", [])
        if element.get("action_id") == "issue.ignore"
        for option in element["options"]
    ]
    events = next(o["value"] for o in options if "events" in o["text"]["text"].lower())
    payload, _ = click_unfurl(slack, shared, url, "issue.ignore", events)
    assert send_click(bot.url, payload).status == 200
    slack.wait_for(lambda: len(slack.views()) == 1, 10)
    [view] = slack.views()
    submission = sr.view_submission(
        ANA,
        "T111",
        view.view,
        {"ignore_count": {"count": {"type": "plain_text_input", "value": "250"}}},
    )
    body = sr.interactive_body(submission)
    headers = sr.sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time()))
    assert sr.post_to_bot(f"{bot.url}/slack/events", body, headers).status == 200
    slack.wait_for(lambda: "250" in json.dumps(shared.unfurls()), 10)
    assert sentry.issue(issue["id"])["status"] == "ignored"
    assert slack.message("C0ALERTS1", shared.ts).unfurl_calls == 2


def test_two_clicks_at_once_on_an_unfurl_end_with_both_changes_shown(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError")
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    blocks = shared.wait_unfurled(1)[url]["blocks"]
    resolve, _ = click_unfurl(
        slack, shared, url, "issue.resolve", option_value(blocks, "issue.resolve", "Resolve now")
    )
    me = ActionValue(IssueId(issue["id"]), OP_ASSIGN, "me").encode()
    assign, _ = click_unfurl(slack, shared, url, "issue.assign", me)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda payload: send_click(bot.url, payload), [resolve, assign]))
    assert [reply.status for reply in replies] == [200, 200]
    slack.wait_for(lambda: slack.message("C0ALERTS1", shared.ts).unfurl_calls == 3, 15)
    shown = json.dumps(shared.unfurls()[url]["blocks"])
    assert sentry.issue(issue["id"])["status"] == "resolved"
    assert "issue.unresolve" in shown
    assert "Ana Lima" in shown


def test_links_in_a_channel_the_bot_is_not_in_stay_links(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_channel("C0OTHER01", "elsewhere", member=False)
    issue = sentry.create_issue("web", "KeyError")
    shared = share(slack, ANA, [issue_url(sentry, issue["id"])], channel="C0OTHER01")
    assert shared.event["is_bot_user_member"] is False
    assert deliver_http(bot.url, shared).status == 200
    bot.wait_for_log("links in a channel the bot is not in are not unfurled")
    assert unfurl_calls(slack) == []


# Unfurled cards stay current ----------------------------------------------------------------


def looked_up(sentry: FakeSentry, issue_id: str) -> list[object]:
    """The batched `group=` look-ups (the card refresh's) that asked for the issue."""
    return [
        r
        for r in sentry.requests_matching("GET", "/organizations/acme/issues/")
        if issue_id in r.params("group")
    ]


def own_reads(sentry: FakeSentry, issue_id: str) -> list[object]:
    """Requests for the issue alone (`GET /issues/<id>/`)."""
    return sentry.requests_matching("GET", f"/issues/{issue_id}/")


def test_an_issue_resolved_in_sentry_shows_resolved_in_its_unfurl_within_two_polls(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    # An `api` issue: no route posts its card, so only its unfurl follows it.
    issue = sentry.create_issue("api", "TimeoutError")
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    assert "issue.resolve" in json.dumps(shared.wait_unfurled(1)[url]["blocks"])
    bot.wait_for_log("unfurled 1 Sentry link")  # and remembered
    sentry.set_issue_status(issue["id"], "resolved")  # in Sentry's web UI
    sentry.clear_requests()
    for _ in range(2):
        bot.poll_now()
        if "issue.unresolve" in json.dumps(shared.unfurls()[url]["blocks"]):
            break
    shown = json.dumps(shared.unfurls()[url]["blocks"])
    assert "issue.unresolve" in shown
    assert "issue.resolve" not in shown
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2
    assert looked_up(sentry, issue["id"])  # read in the refresh's batch
    assert own_reads(sentry, issue["id"]) == []
    bot.poll_now()
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2  # shown already: left alone


def test_nothing_changed_means_no_redraw_and_no_request_of_its_own(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    carded = sentry.create_issue("web", "KeyError")
    bot.poll_now()  # the `web` issue gets its alert card
    slack.wait_for(lambda: bool(cards_for(slack, carded["id"])), 10)
    unfurled = sentry.create_issue("api", "TimeoutError")
    urls = [issue_url(sentry, carded["id"]), issue_url(sentry, unfurled["id"])]
    shared = share(slack, ANA, urls)
    deliver_http(bot.url, shared)
    shared.wait_unfurled(2)
    bot.wait_for_log("unfurled 2 Sentry link")  # and remembered
    sentry.clear_requests()
    bot.poll_now()
    bot.poll_now()
    assert len(unfurl_calls(slack)) == 1
    # Each cycle's search, and at most one batched look-up holding the card's issue and the
    # unfurl-only issue alike: the unfurls add no request of their own.
    made = sentry.requests
    assert {(r.method, r.path) for r in made} == {("GET", "/api/0/organizations/acme/issues/")}
    assert len(made) <= 4
    assert all(
        {carded["id"], unfurled["id"]} <= set(r.params("group")) for r in made if r.params("group")
    )
    assert own_reads(sentry, carded["id"]) == own_reads(sentry, unfurled["id"]) == []


def test_resolving_from_the_alert_card_redraws_the_unfurl_of_the_same_issue(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError")
    bot.poll_now()
    slack.wait_for(lambda: bool(cards_for(slack, issue["id"])), 10)
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    shared.wait_unfurled(1)
    bot.wait_for_log("unfurled 1 Sentry link")  # and remembered
    desk = Desk(bot, sentry, slack, issue)
    value = option_value(desk.card().blocks, "issue.resolve", "Resolve now")
    reply, _ = desk.click("issue.resolve", value)
    assert reply.status == 200
    desk.wait_card(lambda text: "Resolved by" in text)
    slack.wait_for(lambda: "Resolved by" in json.dumps(shared.unfurls()), 10)
    shown = json.dumps(shared.unfurls()[url]["blocks"])
    assert f"<@{ANA}>" in shown
    assert "issue.unresolve" in shown
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2
    bot.poll_now()
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2


def test_a_resolved_webhook_redraws_the_unfurl_at_once(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    seed_people(sentry, slack)
    with started(make_bot, sentry) as bot:
        issue = sentry.create_issue("api", "TimeoutError")  # unfurled only, no card
        url = issue_url(sentry, issue["id"])
        shared = share(slack, ANA, [url])
        deliver_http(bot.url, shared)
        shared.wait_unfurled(1)
        bot.wait_for_log("unfurled 1 Sentry link")  # and remembered
        sentry.set_issue_status(issue["id"], "resolved")
        assert sentry.send_issue_webhook("resolved", issue["id"]).status == 200
        slack.wait_for(lambda: "issue.unresolve" in json.dumps(shared.unfurls()), 10)
        drained(bot)
        sentry.send_issue_webhook("resolved", issue["id"])  # Sentry retries: already shown
        drained(bot)
        assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2


def test_a_change_redraws_the_message_once_with_all_its_unfurls(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    changed = sentry.create_issue("api", "TimeoutError")
    kept = sentry.create_issue("api", "KeyError")
    by_short_id = issue_url(sentry, changed["shortId"])
    urls = [issue_url(sentry, changed["id"]), by_short_id, issue_url(sentry, kept["id"])]
    shared = share(slack, ANA, urls)
    deliver_http(bot.url, shared)
    before = shared.wait_unfurled(3)
    bot.wait_for_log("unfurled 3 Sentry link")  # and remembered
    sentry.assign(changed["id"], "ana@example.com")
    bot.poll_now()
    slack.wait_for(lambda: "Ana Lima" in json.dumps(shared.unfurls()[urls[0]]), 10)
    calls = unfurl_calls(slack)
    assert len(calls) == 2  # the first unfurl, then one redraw of the message
    sent = calls[-1].params["unfurls"]
    assert set(sent) == set(urls)  # every unfurl of the message, whichever way Slack replaces
    after = shared.unfurls()
    assert "Ana Lima" in json.dumps(after[by_short_id])
    assert after[urls[2]] == before[urls[2]]


def test_an_unfurl_whose_message_was_deleted_is_dropped_and_never_tried_again(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("api", "TimeoutError")
    shared = share(slack, ANA, [issue_url(sentry, issue["id"])])
    deliver_http(bot.url, shared)
    shared.wait_unfurled(1)
    bot.wait_for_log("unfurled 1 Sentry link")
    assert bot.runtime is not None
    store = UnfurlStore(bot.runtime.engine)
    assert bot.call(store.count()) == 1
    slack.delete_user_message(CHANNEL, shared.ts)
    sentry.set_issue_status(issue["id"], "resolved")
    bot.poll_now()
    bot.wait_for_log("no longer keeping 1 unfurled card.* current: cannot_find_message")
    assert bot.call(store.count()) == 0
    sentry.set_issue_status(issue["id"], "unresolved")
    bot.poll_now()
    bot.poll_now()
    assert len(unfurl_calls(slack)) == 2  # the unfurl, and the one refused redraw
    assert bot.log().count("no longer keeping") == 1
    assert bot.alive


def test_resolving_with_the_sentry_command_redraws_the_unfurl(
    bot: InProcessBot, sentry: FakeSentry, slack: FakeSlack
) -> None:
    issue = sentry.create_issue("api", "TimeoutError")  # unfurled only, no card
    url = issue_url(sentry, issue["id"])
    shared = share(slack, ANA, [url])
    deliver_http(bot.url, shared)
    shared.wait_unfurled(1)
    bot.wait_for_log("unfurled 1 Sentry link")
    body = command(bot, slack, f"resolve {issue['shortId']}", user=ANA)
    assert "*Resolved* 1 issue" in rendered(body)
    slack.wait_for(lambda: "issue.unresolve" in json.dumps(shared.unfurls()), 10)
    assert f"<@{ANA}>" in json.dumps(shared.unfurls()[url]["blocks"])
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2


def test_an_unfurl_made_before_a_restart_is_kept_current_after_it(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    seed_people(sentry, slack)
    issue = sentry.create_issue("api", "TimeoutError")
    url = issue_url(sentry, issue["id"])
    with make_bot(POLL_INTERVAL_SECONDS="3600") as first:
        first.wait_ready()
        shared = share(slack, ANA, [url])
        deliver_http(first.url, shared)
        shared.wait_unfurled(1)
        first.wait_for_log("unfurled 1 Sentry link")
    sentry.assign(issue["id"], "ana@example.com")
    with make_bot(POLL_INTERVAL_SECONDS="3600") as second:  # the same database
        second.wait_ready()
        second.poll_now()
        slack.wait_for(lambda: "Ana Lima" in json.dumps(shared.unfurls()[url]), 10)
    assert slack.message(CHANNEL, shared.ts).unfurl_calls == 2
