"""`/sentry` end to end: signed slash commands to `python -m bot`, replies through response_url.

Every command runs in process in tests/usecases/test_commands.py; these scenarios keep one of
each kind (help, an issue's detail, a triage, a dialog, a subscription, a digest, Socket
Mode) through a real process.

One bot process (HTTP mode) serves the whole module against one fake Sentry and one fake Slack;
each test makes its own issues and looks only at the Sentry requests made after it started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.command_flows import (
    ADMIN,
    CHANNEL,
    MEMBER,
    TEAM,
    add_members,
    add_people,
    bot_env,
    command,
    issue_path,
    rendered,
    response_post,
    send,
    since,
    writes,
)
from tests.e2e.conftest import BotFactory
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    form_body,
    interactive_body,
    slash_command,
    view_submission,
)
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e


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
) -> Iterator[BotProcess]:
    workdir: Path = tmp_path_factory.mktemp("commands")
    env = bot_env(workdir, fake_sentry, fake_slack, poll_interval=1)
    with BotProcess(env, workdir=workdir) as process:
        process.wait_ready()
        yield process


# ---- help and errors --------------------------------------------------------------------------


def test_help_lists_every_subcommand_with_an_example(
    bot: BotProcess, fake_slack: FakeSlack
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


# ---- issues, issue, events ------------------------------------------------------------------


def test_issue_shows_the_card_and_the_latest_event(
    bot: BotProcess, fake_slack: FakeSlack, fake_sentry: FakeSentry
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


# ---- triage ---------------------------------------------------------------------------------


def card_of(slack: FakeSlack, issue_id: str) -> Any:
    for message in slack.messages(CHANNEL):
        if (message.metadata or {}).get("event_payload", {}).get("issue_id") == issue_id:
            return message
    return None


def test_resolve_one_issue_updates_its_card_for_everyone(
    bot: BotProcess, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    made = fake_sentry.create_issue("web", "KeyError: 'cart'")
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


def test_delete_asks_for_confirmation_then_deletes(
    bot: BotProcess, fake_slack: FakeSlack, fake_sentry: FakeSentry
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


# ---- subscriptions and digests --------------------------------------------------------------


def test_a_new_subscription_does_not_post_older_issues(
    bot: BotProcess, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    channel = "C0NEWSUBS"
    fake_slack.add_channel(channel, "new-subs")
    old = fake_sentry.create_issue("api", "Before the subscription")
    command(bot, fake_slack, "subscribe *", channel=channel)
    new = fake_sentry.create_issue("api", "After the subscription")
    fake_slack.wait_for(
        lambda: any(new["shortId"] in json.dumps(m.blocks) for m in fake_slack.messages(channel)),
        timeout=15,
    )
    assert not any(old["shortId"] in json.dumps(m.blocks) for m in fake_slack.messages(channel))


def test_digest_now_posts_in_the_channel(bot: BotProcess, fake_slack: FakeSlack) -> None:
    before = len(fake_slack.messages(CHANNEL))
    body = command(bot, fake_slack, "digest now")
    assert "posted" in rendered(body).lower()
    assert len(fake_slack.messages(CHANNEL)) > before


# ---- Socket Mode ----------------------------------------------------------------------------


def test_a_command_over_socket_mode(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    sentry.add_member("ada@acme.test", role="admin")
    slack.add_user(ADMIN, "ada@acme.test", "ada")
    made = sentry.create_issue("web", "SocketError: closed")
    with make_bot(socket_mode=True) as process:
        process.wait_ready()
        url = slack.new_response_url(channel="C0ALERTS1", user=ADMIN)
        payload = slash_command(
            f"resolve {made['shortId']}", user_id=ADMIN, channel_id="C0ALERTS1", response_url=url
        )
        envelope = slack.send_envelope("slash_commands", payload)
        ack = slack.wait_for_ack(envelope, timeout=3)
        assert ack == {"envelope_id": envelope}
        post = response_post(slack, url)
    assert "*Resolved* 1 issue" in rendered(post.body)
    assert sentry.issue(made["id"])["status"] == "resolved"
