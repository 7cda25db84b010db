"""`/sentry` in process: signed slash commands to the bot's endpoint and Bolt's dispatch, replies
through response_url.

One in-process bot (HTTP mode, polling only when a test asks) serves the whole module against
one fake Sentry and one fake Slack; each test makes its own issues and looks only at the Sentry
requests made after it started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.command_flows import (
    ADMIN,
    BILLING,
    CHANNEL,
    MEMBER,
    ORG_ISSUES,
    PEER,
    STRANGER,
    TEAM,
    add_members,
    add_people,
    bot_env,
    buttons,
    click,
    command,
    command_post,
    issue_path,
    only,
    rendered,
    response_post,
    send,
    since,
    writes,
)
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    form_body,
    interactive_body,
    slash_command,
    view_submission,
)
from tests.fakes.slack_server import FakeSlack
from tests.inprocess import InProcessBot


@pytest.fixture(scope="module")
def fake_sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as fake:
        add_members(fake)
        yield fake


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(
        bot_token=TOKENS["SLACK_BOT_TOKEN"], app_token=TOKENS["SLACK_APP_TOKEN"]
    ) as fake:
        add_people(fake)
        yield fake


@pytest.fixture(scope="module")
def bot(
    tmp_path_factory: pytest.TempPathFactory, fake_sentry: FakeSentry, fake_slack: FakeSlack
) -> Iterator[InProcessBot]:
    workdir: Path = tmp_path_factory.mktemp("commands")
    # Polls run only when a test asks (`bot.poll_now()`), so the Sentry requests a command
    # makes are never mixed with a poll's.
    env = bot_env(workdir, fake_sentry, fake_slack, poll_interval=3600)
    with InProcessBot(env, workdir=workdir) as process:
        process.wait_ready()
        process.poll_now()  # the start-up poll is over before any test looks at Sentry's log
        yield process


# ---- help and errors --------------------------------------------------------------------------


def test_help_lists_every_subcommand_with_an_example(
    bot: InProcessBot, fake_slack: FakeSlack
) -> None:
    body = command(bot, fake_slack, "help")
    text = rendered(body)
    for name in (
        "issues",
        "issue ",
        "events",
        "resolve",
        "unresolve",
        "ignore",
        "assign",
        "delete",
        "projects",
        "project ",
        "releases",
        "release create",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "digest",
    ):
        assert f"/sentry {name}" in text, name
    assert text.count("Example:") >= 18


def test_unknown_input_gets_a_specific_error_and_the_usage(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "ignore WEB-1 <!channel> 3 fortnights")
    text = rendered(body)
    assert "Usage:" in text
    assert "<!channel>" not in text
    assert "Traceback" not in text
    assert writes(fake_sentry, mark) == []


# ---- issues, issue, events ------------------------------------------------------------------


def test_issues_pages_with_the_sentry_cursor_and_shares_in_channel(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = [
        fake_sentry.create_issue("api", f"PagingError number {n}", count=100 + n) for n in range(12)
    ]
    api_id = fake_sentry.project_json(fake_sentry.project("api"))["id"]
    mark = len(fake_sentry.requests)
    first = command_post(bot, fake_slack, "issues api PagingError --sort freq")
    body = first.body

    [search] = only(fake_sentry, mark, "GET", ORG_ISSUES)
    assert search.param("query") == "is:unresolved PagingError"
    assert search.param("sort") == "freq"
    assert search.param("limit") == "10"
    assert search.params("project") == [api_id]
    assert search.param("cursor") is None
    text = rendered(body)
    assert text.count('"action_id": "issue.resolve"') == 10
    assert made[11]["shortId"] in text  # most events first
    assert made[0]["shortId"] not in text
    assert "and 2 more" in text
    controls = buttons(body)
    assert set(controls) == {"reply.share", "issues.more", "reply.open"}
    assert "query=is%3Aunresolved+PagingError" in controls["reply.open"]["url"]
    assert f"project={api_id}" in controls["reply.open"]["url"]

    mark = len(fake_sentry.requests)
    more_url = click(bot, fake_slack, first, "issues.more")
    page_two = response_post(fake_slack, more_url)
    assert page_two.outcome == "replaced"
    [search] = only(fake_sentry, mark, "GET", ORG_ISSUES)
    assert search.param("cursor")
    assert search.param("query") == "is:unresolved PagingError"
    text = rendered(page_two.body)
    assert made[0]["shortId"] in text
    assert made[1]["shortId"] in text
    assert text.count('"action_id": "issue.resolve"') == 2
    assert "Showing 11 to 12" in text

    share_url = click(bot, fake_slack, page_two, "reply.share")
    shared = response_post(fake_slack, share_url)
    assert shared.outcome == "posted"
    assert shared.body["response_type"] == "in_channel"
    assert f"Shared by <@{ADMIN}>" in rendered(shared.body)
    assert made[0]["shortId"] in rendered(shared.body)
    [message] = [m for m in fake_slack.messages(CHANNEL) if m.via == "response_url"][-1:]
    assert "reply.share" not in json.dumps(message.blocks)


def test_issue_shows_the_card_and_the_latest_event(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue(
        "api",
        "ValueError: bad <input> & worse",
        culprit="billing.invoice in total",
        release="api@1.2.3",
        tags={
            "browser": "Firefox 120",
            "os": "Linux",
            "url": "https://shop.test/cart",
            "user": "id:42",
        },
    )
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"issue {made['shortId']}")
    paths = {r.path for r in since(fake_sentry, mark) if r.method == "GET"}
    assert issue_path(made["shortId"]) in paths
    assert issue_path(made["shortId"], "events/latest/") in paths
    text = rendered(body)
    assert "*ValueError*: bad &lt;input&gt; &amp; worse" in text
    assert "`billing/invoice.py:7` in `total`" in text
    assert "`app/views.py:42` in `dispatch`" in text
    assert "runtime/server.py" not in text  # not in-app
    for shown in (
        "api@1.2.3",
        "production",
        "Firefox 120",
        "Linux",
        "https://shop.test/cart",
        "id:42",
    ):
        assert shown in text, shown
    assert '"action_id": "issue.resolve"' in text
    assert "reply.share" in text


def test_events_lists_recent_events_with_ids_and_times(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("api", "TimeoutError: upstream")
    fake_sentry.add_event(made["id"])
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"events {made['id']}")
    assert only(fake_sentry, mark, "GET", issue_path(made["id"], "events/"))
    text = rendered(body)
    for event in fake_sentry.events(made["id"]):
        assert event["eventID"][:12] in text
    assert "<!date^" in text
    assert "TimeoutError: upstream" in text


def test_an_unknown_issue_is_named(bot: InProcessBot, fake_slack: FakeSlack) -> None:
    body = command(bot, fake_slack, "issue NOPE-999")
    assert "NOPE-999" in rendered(body)
    assert "not found" in rendered(body)


# ---- triage ---------------------------------------------------------------------------------


def card_of(slack: FakeSlack, issue_id: str) -> Any:
    for message in slack.messages(CHANNEL):
        if (message.metadata or {}).get("event_payload", {}).get("issue_id") == issue_id:
            return message
    return None


def test_resolve_one_issue_updates_its_card_for_everyone(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("web", "KeyError: 'cart'")
    bot.poll_now()
    fake_slack.wait_for(lambda: card_of(fake_slack, made["id"]) is not None, timeout=15)
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"resolve {made['shortId']}", user=MEMBER)
    [put] = writes(fake_sentry, mark)
    assert (put.method, put.path, put.json) == (
        "PUT",
        issue_path(made["id"]),
        {"status": "resolved"},
    )
    assert fake_sentry.issue(made["id"])["status"] == "resolved"
    assert "*Resolved* 1 issue" in rendered(body)
    assert "now Resolved" in rendered(body)
    card = card_of(fake_slack, made["id"])
    assert card.edits, "the card was not updated"
    assert "issue.unresolve" in json.dumps(card.blocks)
    assert f"<@{MEMBER}>" in json.dumps(card.blocks)


def test_resolve_several_is_one_bulk_request_with_explicit_ids(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    first = fake_sentry.create_issue("api", "BulkError one")
    second = fake_sentry.create_issue("api", "BulkError two")
    mark = len(fake_sentry.requests)
    body = command(
        bot, fake_slack, f"resolve {first['shortId']} {second['id']} API-ZZZZ", user=MEMBER
    )
    [put] = writes(fake_sentry, mark)
    assert (put.method, put.path) == ("PUT", ORG_ISSUES)
    assert sorted(put.params("id")) == sorted([first["id"], second["id"]])
    assert put.json == {"status": "resolved"}
    text = rendered(body)
    assert "*Resolved* 2 issues" in text
    assert "1 issue was not changed" in text
    assert "*API-ZZZZ*: not found in Sentry" in text
    assert {fake_sentry.issue(i)["status"] for i in (first["id"], second["id"])} == {"resolved"}


def test_resolve_in_next_release_across_projects_goes_project_by_project(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    """Sentry refuses a release resolution of several projects in one request."""
    fake_sentry.create_release("shop@1.0", ["shop"])
    shop = fake_sentry.create_issue("shop", "CartError")
    pay = fake_sentry.create_issue("pay", "ChargeError")  # pay has no release
    mark = len(fake_sentry.requests)
    body = command(
        bot, fake_slack, f"resolve {shop['shortId']} {pay['shortId']} --next-release", user=MEMBER
    )
    puts = writes(fake_sentry, mark)
    assert sorted(put.path for put in puts) == sorted(
        f"{ORG_ISSUES}{issue['id']}/" for issue in (shop, pay)
    )
    assert fake_sentry.issue(shop["id"])["status"] == "resolved"
    assert fake_sentry.issue(pay["id"])["status"] == "unresolved"
    text = rendered(body)
    assert "*Resolved in next release* 1 issue" in text
    assert "*PAY-1*: This project has no releases in Sentry yet" in text


def test_ignore_for_a_duration_and_unresolve(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("api", "FlakyError: sometimes")
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"ignore {made['shortId']} 2h", user=MEMBER)
    [put] = writes(fake_sentry, mark)
    assert put.path == issue_path(made["id"])
    assert put.json == {"status": "ignored", "statusDetails": {"ignoreDuration": 120}}
    assert "Ignored for 2 hours" in rendered(body)

    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"unresolve {made['shortId']}", user=MEMBER)
    [put] = writes(fake_sentry, mark)
    assert put.json == {"status": "unresolved"}
    assert fake_sentry.issue(made["id"])["status"] == "unresolved"
    assert "*Unresolved* 1 issue" in rendered(body)


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [
        (f"<@{PEER}|pat>", "user:pat"),
        ("mo@acme.test", "user:mo"),
        ("#backend", "team:backend"),
        ("me", "user:mo"),
        ("none", ""),
    ],
)
def test_assign_maps_people_and_teams_to_sentry(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry, assignee: str, expected: str
) -> None:
    members = {
        m["email"]: m["user"]["id"] for m in map(fake_sentry.member_json, fake_sentry.members())
    }
    teams = {t.slug: str(t.id) for t in fake_sentry.teams()}
    actor = {
        "user:pat": f"user:{members['pat@acme.test']}",
        "user:mo": f"user:{members['mo@acme.test']}",
        "team:backend": f"team:{teams['backend']}",
        "": "",
    }[expected]
    made = fake_sentry.create_issue("api", "AssignError")
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"assign {made['shortId']} {assignee}", user=MEMBER)
    [put] = writes(fake_sentry, mark)
    assert (put.path, put.json) == (issue_path(made["id"]), {"assignedTo": actor})
    assert ("Unassigned" if not actor else "Assigned to") in rendered(body)


def test_assign_to_someone_sentry_does_not_know_changes_nothing(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("api", "AssignError unknown")
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, f"assign {made['shortId']} <@{STRANGER}|ghost>", user=MEMBER)
    assert writes(fake_sentry, mark) == []
    assert "ghost@elsewhere.test" in rendered(body)
    body = command(bot, fake_slack, f"assign {made['shortId']} #nobody-here", user=MEMBER)
    assert "No team #nobody-here" in rendered(body)
    assert writes(fake_sentry, mark) == []


@pytest.mark.parametrize(
    ("user", "text", "reason"),
    [
        (STRANGER, "resolve {short}", "No member of the Sentry organization acme"),
        (BILLING, "resolve {short}", "Your Sentry role (billing) cannot triage issues"),
        (BILLING, "assign {short} me", "Your Sentry role (billing) cannot triage issues"),
        (MEMBER, "delete {short}", "Your Sentry role (member) cannot delete issues"),
        (
            MEMBER,
            "release create 9.9.9 api",
            "Your Sentry role (member) cannot delete issues or create releases",
        ),
    ],
)
def test_refusals_say_why_and_change_nothing(
    bot: InProcessBot,
    fake_slack: FakeSlack,
    fake_sentry: FakeSentry,
    user: str,
    text: str,
    reason: str,
) -> None:
    made = fake_sentry.create_issue("api", "RefusedError")
    mark = len(fake_sentry.requests)
    views = len(fake_slack.views())
    body = command(bot, fake_slack, text.format(short=made["shortId"]), user=user)
    assert reason in rendered(body)
    assert writes(fake_sentry, mark) == []
    assert len(fake_slack.views()) == views
    assert fake_sentry.issue(made["id"])["status"] == "unresolved"


def test_delete_asks_for_confirmation_then_deletes(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("api", "DeleteMe: <b>old</b>")
    mark = len(fake_sentry.requests)
    views = len(fake_slack.views())
    url = fake_slack.new_response_url(channel=CHANNEL, user=ADMIN)
    send(
        bot,
        form_body(
            slash_command(
                f"delete {made['shortId']}",
                user_id=ADMIN,
                team_id=TEAM,
                channel_id=CHANNEL,
                response_url=url,
                trigger_id="555.666.delete",
            )
        ),
    )
    fake_slack.wait_for(lambda: len(fake_slack.views()) > views, timeout=10)
    view = fake_slack.views()[-1]
    assert view.trigger_id == "555.666.delete"
    shown = json.dumps(view.view)
    assert made["shortId"] in shown
    assert "DeleteMe: &lt;b&gt;old&lt;/b&gt;" in shown
    assert writes(fake_sentry, mark) == []

    payload = view_submission(ADMIN, TEAM, view.view, {}, view_id=view.id)
    send(bot, interactive_body(payload))
    fake_sentry.wait_for(lambda: bool(writes(fake_sentry, mark)), timeout=10)
    [delete] = writes(fake_sentry, mark)
    assert (delete.method, delete.path) == ("DELETE", issue_path(made["id"]))
    fake_slack.wait_for(
        lambda: any(made["shortId"] in e.text for e in fake_slack.ephemerals(ADMIN)), timeout=10
    )
    assert fake_sentry.issue(made["id"])["status"] == "pending_deletion"


# ---- projects and releases ------------------------------------------------------------------


def test_projects_and_project(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    fake_sentry.create_release("web@3.0.0", ["web"])
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "projects")
    assert only(fake_sentry, mark, "GET", "/api/0/organizations/acme/projects/")
    text = rendered(body)
    assert "javascript" in text
    assert "#backend" in text
    assert "web@3.0.0" in text
    assert "unresolved" in text
    assert "api" in text

    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "project web")
    assert only(fake_sentry, mark, "GET", "/api/0/projects/acme/web/")
    counts = [r for r in only(fake_sentry, mark, "GET", ORG_ISSUES) if r.param("limit") == "1"]
    assert {r.param("query") for r in counts} == {"is:unresolved"}
    assert {r.param("statsPeriod") for r in counts} == {None, "24h"}
    text = rendered(body)
    assert "web@3.0.0" in text
    assert "javascript" in text
    assert "#backend" in text

    body = command(bot, fake_slack, "project wbe")
    assert "No project 'wbe' in acme; did you mean web?" in rendered(body)


def test_release_create_list_and_details(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "release create 2.4.1 api --commit acme/api@1a2b3c4")
    [post] = writes(fake_sentry, mark)
    assert (post.method, post.path) == ("POST", "/api/0/organizations/acme/releases/")
    assert post.json == {
        "version": "2.4.1",
        "projects": ["api"],
        "refs": [{"repository": "acme/api", "commit": "1a2b3c4"}],
    }
    assert "Created release" in rendered(body)

    api_id = fake_sentry.project_json(fake_sentry.project("api"))["id"]
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "releases api")
    [listing] = only(fake_sentry, mark, "GET", "/api/0/organizations/acme/releases/")
    assert listing.params("project") == [api_id]
    assert "2.4.1" in rendered(body)
    assert "1 commits" in rendered(body)

    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "release 2.4.1")
    assert only(fake_sentry, mark, "GET", "/api/0/organizations/acme/releases/2.4.1/")
    text = rendered(body)
    assert "*Commits*\\n1" in text
    assert "api" in text
    assert "*New issues*\\n0" in text


# ---- subscriptions and digests --------------------------------------------------------------


def test_subscribe_validates_stores_and_lists_with_the_file_routes(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    body = command(bot, fake_slack, "subscribe wbe")
    assert "No project 'wbe' in acme; did you mean web?" in rendered(body)

    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "subscribe api level:error")
    check = [r for r in only(fake_sentry, mark, "GET", ORG_ISSUES) if r.param("limit") == "1"]
    assert [r.param("query") for r in check] == ["level:error"]
    assert "Subscribed" in rendered(body)

    body = command(bot, fake_slack, "subscriptions")
    text = rendered(body)
    assert "*web*" in text
    assert "from the routes file" in text
    assert "*api*" in text
    assert "`level:error`" in text
    assert "added in Slack" in text

    body = command(bot, fake_slack, "unsubscribe api")
    assert "Removed 1 subscription" in rendered(body)
    body = command(bot, fake_slack, "unsubscribe web")
    assert "routes file" in rendered(body)
    assert "*api*" not in rendered(command(bot, fake_slack, "subscriptions"))


def test_a_new_subscription_does_not_post_older_issues(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    channel = "C0NEWSUBS"
    fake_slack.add_channel(channel, "new-subs")
    old = fake_sentry.create_issue("api", "Before the subscription")
    command(bot, fake_slack, "subscribe *", channel=channel)
    new = fake_sentry.create_issue("api", "After the subscription")
    bot.poll_now()
    fake_slack.wait_for(
        lambda: any(new["shortId"] in json.dumps(m.blocks) for m in fake_slack.messages(channel)),
        timeout=15,
    )
    assert not any(old["shortId"] in json.dumps(m.blocks) for m in fake_slack.messages(channel))


def test_digest_schedule_show_and_off(bot: InProcessBot, fake_slack: FakeSlack) -> None:
    body = command(bot, fake_slack, "digest weekly mon 09:30 Europe/Berlin")
    assert "Digest scheduled" in rendered(body)
    assert "`30 9 * * mon`" in rendered(body)
    assert "Europe/Berlin" in rendered(body)
    assert "Europe/Berlin" in rendered(command(bot, fake_slack, "subscriptions"))
    assert "stopped" in rendered(command(bot, fake_slack, "digest off"))


def test_digest_now_posts_in_the_channel(bot: InProcessBot, fake_slack: FakeSlack) -> None:
    before = len(fake_slack.messages(CHANNEL))
    body = command(bot, fake_slack, "digest now")
    assert "posted" in rendered(body).lower()
    assert len(fake_slack.messages(CHANNEL)) > before


def test_digest_now_in_a_channel_routed_to_one_project(
    bot: InProcessBot, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    """Sentry takes numeric project ids only (a slug is a 400): the routed slug is mapped."""
    channel = "C0APIDIGEST"
    fake_slack.add_channel(channel, "api-digest")
    command(bot, fake_slack, "subscribe api", channel=channel)
    fake_sentry.create_issue("api", "DigestError: in the routed project")
    api_id = fake_sentry.project_json(fake_sentry.project("api"))["id"]
    mark = len(fake_sentry.requests)
    body = command(bot, fake_slack, "digest now", channel=channel)
    assert "posted" in rendered(body).lower()
    [digest] = [
        m
        for m in fake_slack.messages(channel)
        if (m.metadata or {}).get("event_type") == "sentry_digest"
    ]
    assert digest.blocks is not None
    assert digest.blocks[0]["text"]["text"] == "Sentry digest: api"
    searches = only(fake_sentry, mark, "GET", ORG_ISSUES)
    assert len(searches) == 4
    assert all(search.params("project") == [api_id] for search in searches)


# ---- when Slack says no ---------------------------------------------------------------------


def test_a_digest_slack_refuses_is_explained_and_not_posted(
    bot: InProcessBot, fake_slack: FakeSlack
) -> None:
    channel = "C0ARCHIVED"
    fake_slack.add_channel(channel, "archived-digest")
    command(bot, fake_slack, "subscribe web", channel=channel)
    fake_slack.error_next("chat.postMessage", "is_archived")
    body = command(bot, fake_slack, "digest now", channel=channel)
    text = rendered(body)
    assert "No digest was posted: Slack refused the post: is_archived" in text
    assert "unarchive" in text
    assert fake_slack.messages(channel) == []
