"""The conversation reaches Sentry, in process: triage actions leave attribution comments,
and comments written in Sentry by people reach the card's thread once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.command_flows import command, response_post
from tests.e2e.conftest import CHANNEL, wait_polls
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import block_suggestion, message_action, view_submission
from tests.fakes.slack_server import FakeSlack
from tests.triage_desk import ANA, NOBODY, Desk, option_value
from tests.usecases.conftest import BotFactory

DUPLICATE = {"detail": "You have already posted that comment."}


def open_desk(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, **env: str
) -> Iterator[Desk]:
    slack.add_user(ANA, "ana@example.com", "ana")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    sentry.add_member("bo@example.com", name="Bo Berg", role="member")
    with make_bot(**env) as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "ZeroDivisionError: division by zero")
        desk = Desk(bot, sentry, slack, issue)
        bot.poll_now()
        slack.wait_for(lambda: _cards(slack, issue["id"]) == 1, 15)
        yield desk


def _cards(slack: FakeSlack, issue_id: str) -> int:
    return sum(
        1
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_issue_card"
        and m.metadata["event_payload"]["issue_id"] == issue_id
    )


@pytest.fixture
def desk(make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack) -> Iterator[Desk]:
    yield from open_desk(make_bot, sentry, slack)


def comment_posts(sentry: FakeSentry) -> list[Any]:
    return sentry.requests_matching("POST", "/comments/")


def texts(sentry: FakeSentry, issue_id: str) -> list[str]:
    return [c["data"]["text"] for c in sentry.comments(issue_id)]


def thread_replies(desk: Desk) -> list[Any]:
    card = desk.card()
    return [m for m in desk.slack.messages(CHANNEL) if m.thread_ts == card.ts and m.ts != card.ts]


def resolve_from_card(desk: Desk) -> None:
    value = option_value(desk.card().blocks, "issue.resolve", "Resolve now")
    reply, _ = desk.click("issue.resolve", value)
    assert reply.status == 200


# ---- attribution ----------------------------------------------------------------------------


def test_a_card_action_leaves_a_comment_naming_the_person(desk: Desk) -> None:
    resolve_from_card(desk)
    issue_id = desk.issue["id"]
    desk.sentry.wait_for(lambda: len(desk.sentry.comments(issue_id)) == 1, 10)
    assert texts(desk.sentry, issue_id) == ["Resolved in Slack by Ana Lima (ana@example.com)"]
    desk.wait_card(lambda text: "Resolved by" in text)


def test_a_bulk_command_leaves_one_comment_per_issue(desk: Desk) -> None:
    other = desk.sentry.create_issue("web", "KeyError: 'user'")
    first = desk.sentry.issue(desk.issue["id"])["shortId"]
    second = other["shortId"]
    body = command(desk.bot, desk.slack, f"resolve {first} {second}", user=ANA)
    assert "Resolved" in str(body)
    for issue_id in (desk.issue["id"], other["id"]):
        desk.sentry.wait_for(lambda i=issue_id: len(desk.sentry.comments(i)) == 1, 10)
        assert texts(desk.sentry, issue_id) == ["Resolved in Slack by Ana Lima (ana@example.com)"]
    assert len(comment_posts(desk.sentry)) == 2


def test_sentrys_duplicate_guard_is_silent_and_the_action_still_answers(desk: Desk) -> None:
    issue_id = desk.issue["id"]
    ref = desk.sentry.issue(issue_id)["shortId"]
    command(desk.bot, desk.slack, f"resolve {ref}", user=ANA)
    command(desk.bot, desk.slack, f"unresolve {ref}", user=ANA)
    desk.sentry.wait_for(lambda: len(desk.sentry.comments(issue_id)) == 2, 10)
    again = command(desk.bot, desk.slack, f"resolve {ref}", user=ANA)
    assert "Resolved" in str(again)
    assert "already posted" not in str(again)
    desk.sentry.wait_for(lambda: len(comment_posts(desk.sentry)) == 3, 10)
    desk.bot.wait_for_log("already has this activity comment")
    assert comment_posts(desk.sentry)[-1].status == 400
    assert desk.sentry.issue(issue_id)["status"] == "resolved"
    assert texts(desk.sentry, issue_id) == [
        "Unresolved in Slack by Ana Lima (ana@example.com)",
        "Resolved in Slack by Ana Lima (ana@example.com)",
    ]


def test_a_failed_comment_never_undoes_or_hides_the_action(desk: Desk) -> None:
    desk.sentry.fail_next(8, status=500, path_contains="/comments/")
    ref = desk.sentry.issue(desk.issue["id"])["shortId"]
    body = command(desk.bot, desk.slack, f"resolve {ref}", user=ANA)
    assert "Resolved" in str(body)
    desk.bot.wait_for_log("could not leave the activity comment")
    assert desk.sentry.issue(desk.issue["id"])["status"] == "resolved"
    assert desk.sentry.comments(desk.issue["id"]) == []


def test_notes_can_be_turned_off(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    for desk in open_desk(make_bot, sentry, slack, SENTRY_ACTIVITY_NOTES="false"):
        resolve_from_card(desk)
        desk.wait_card(lambda text: "Resolved by" in text)
        wait_polls(sentry, 1, bot=desk.bot)
        assert comment_posts(sentry) == []


# ---- Sentry -> Slack --------------------------------------------------------------------------


def test_a_comment_written_in_sentry_reaches_the_cards_thread_once(desk: Desk) -> None:
    issue_id = desk.issue["id"]
    desk.sentry.add_comment(issue_id, "Looking into it <!channel> & co", by="bo@example.com")
    wait_polls(desk.sentry, 2, bot=desk.bot)
    desk.slack.wait_for(lambda: len(thread_replies(desk)) == 1, 10)
    [reply] = thread_replies(desk)
    assert reply.text.startswith("Bo Berg commented in Sentry: Looking into it")
    assert "&lt;!channel&gt; &amp; co" in reply.blocks[0]["text"]["text"]
    assert "<!channel>" not in reply.text
    wait_polls(desk.sentry, 3, bot=desk.bot)
    assert len(thread_replies(desk)) == 1


def test_polling_asks_for_comments_only_when_the_count_grew(desk: Desk) -> None:
    wait_polls(desk.sentry, 3, bot=desk.bot)
    assert desk.sentry.requests_matching("GET", "/comments/") == []
    desk.sentry.add_comment(desk.issue["id"], "one", by="bo@example.com")
    wait_polls(desk.sentry, 3, bot=desk.bot)
    assert len(desk.sentry.requests_matching("GET", "/comments/")) == 1


def test_the_apps_own_comments_are_never_echoed(desk: Desk) -> None:
    resolve_from_card(desk)
    issue_id = desk.issue["id"]
    desk.sentry.wait_for(lambda: len(desk.sentry.comments(issue_id)) == 1, 10)
    desk.sentry.add_comment(issue_id, "written as the integration elsewhere")  # same author
    desk.sentry.add_comment(issue_id, "a person's note", by="bo@example.com")
    wait_polls(desk.sentry, 3, bot=desk.bot)
    desk.slack.wait_for(lambda: len(thread_replies(desk)) == 1, 10)
    wait_polls(desk.sentry, 1, bot=desk.bot)
    [reply] = thread_replies(desk)
    assert "a person's note" in reply.text


def test_comments_from_before_the_card_are_not_replayed(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    sentry.add_member("bo@example.com", name="Bo Berg", role="member")
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "OSError: disk full")
        sentry.add_comment(issue["id"], "an old note", by="bo@example.com")
        bot.poll_now()
        slack.wait_for(lambda: _cards(slack, issue["id"]) == 1, 15)
        wait_polls(sentry, 3, bot=bot)
        desk = Desk(bot, sentry, slack, issue)
        assert thread_replies(desk) == []
        sentry.add_comment(issue["id"], "a new note", by="bo@example.com")
        wait_polls(sentry, 2, bot=bot)
        slack.wait_for(lambda: len(thread_replies(desk)) == 1, 10)
        assert "a new note" in thread_replies(desk)[0].text


def test_the_webhook_entry_point_relays_at_once_and_a_restart_does_not_double(
    desk: Desk,
) -> None:
    issue_id = desk.issue["id"]
    desk.sentry.add_comment(issue_id, "from the webhook path", by="bo@example.com")
    runtime = desk.bot.runtime  # type: ignore[attr-defined]
    desk.bot.call(runtime.parts.comments.comment_created(issue_id))
    assert len(thread_replies(desk)) == 1
    desk.bot.call(runtime.parts.comments.comment_created(issue_id))  # a replayed webhook
    desk.bot.stop()  # type: ignore[attr-defined]
    desk.bot.start()  # type: ignore[attr-defined]
    desk.bot.wait_ready()  # type: ignore[attr-defined]
    wait_polls(desk.sentry, 3, bot=desk.bot)  # type: ignore[arg-type]
    assert len(thread_replies(desk)) == 1


# ---- Send to Sentry ---------------------------------------------------------------------------

BO = "U0BOB0004"
OTHER_CHANNEL = "C0OTHER02"


def use_shortcut(desk: Desk, message: Any, *, user: str = ANA, channel: str = CHANNEL) -> Any:
    url = desk.slack.new_response_url(channel=channel, user=user)
    names = {CHANNEL: "alerts", OTHER_CHANNEL: "random"}
    payload = message_action(
        user, "T111", {"id": channel, "name": names[channel]}, message.as_slack(), url
    )
    reply = desk.send(payload)
    assert reply.status == 200
    assert reply.elapsed < 3.0
    return url


def said(desk: Desk, url: str) -> str:
    return str(response_post(desk.slack, url).body.get("text", ""))


def test_send_to_sentry_from_a_cards_thread_posts_the_message_as_a_comment(desk: Desk) -> None:
    desk.slack.add_user(BO, "bo@example.com", "bo", real_name="Bo Berg")
    card = desk.card()
    text = (
        f"<@{ANA}> the <https://logs.example.com/q?a=1&amp;b=2|logs> in <#{CHANNEL}|alerts> "
        "say 2 &lt; 3 &amp; <!here>"
    )
    ts = desk.slack.add_user_message(CHANNEL, BO, text, thread_ts=card.ts)
    url = use_shortcut(desk, desk.slack.message(CHANNEL, ts))
    assert said(desk, url) == "Sent to Sentry as a comment on the issue of this thread's card."
    [comment] = texts(desk.sentry, desk.issue["id"])
    permalink = (
        f"https://subarachnoid.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
        f"?thread_ts={card.ts}&cid={CHANNEL}"
    )
    assert comment.splitlines()[0] == f"bo wrote in #alerts on Slack ({permalink}):"
    assert (
        "@ana the logs (https://logs.example.com/q?a=1&b=2) in #alerts say 2 < 3 & @here" in comment
    )
    assert comment.endswith("Sent to Sentry by Ana Lima (ana@example.com)")
    # Sent twice: Sentry's duplicate guard; the person is told it is there already.
    again = use_shortcut(desk, desk.slack.message(CHANNEL, ts))
    assert "already sent" in said(desk, again)
    assert len(texts(desk.sentry, desk.issue["id"])) == 1
    # The app's own comment never comes back into the thread.
    wait_polls(desk.sentry, 3, bot=desk.bot)
    assert [m.user for m in thread_replies(desk)] == [BO]


def test_send_to_sentry_is_for_members_only(desk: Desk) -> None:
    desk.slack.add_user(BO, "bo@example.com", "bo")
    desk.slack.add_user(NOBODY, "nobody@example.com", "nobody")
    ts = desk.slack.add_user_message(CHANNEL, BO, "secret chat", thread_ts=desk.card().ts)
    url = use_shortcut(desk, desk.slack.message(CHANNEL, ts), user=NOBODY)
    assert "No member of the Sentry organization" in said(desk, url)
    assert comment_posts(desk.sentry) == []
    assert desk.slack.views() == []


def test_send_to_sentry_elsewhere_asks_which_issue_first(desk: Desk) -> None:
    desk.slack.add_user(BO, "bo@example.com", "bo")
    desk.slack.add_channel(OTHER_CHANNEL, "random")
    ts = desk.slack.add_user_message(OTHER_CHANNEL, BO, "the division fails again")
    use_shortcut(desk, desk.slack.message(OTHER_CHANNEL, ts), channel=OTHER_CHANNEL)
    desk.slack.wait_for(lambda: len(desk.slack.views()) == 1, 10)
    assert comment_posts(desk.sentry) == []  # nothing leaves Slack before the person picks
    [view] = desk.slack.views()
    short_id = desk.sentry.issue(desk.issue["id"])["shortId"]
    # The search offers Sentry's issues.
    suggestion = block_suggestion(
        ANA,
        "T111",
        OTHER_CHANNEL,
        ts,
        action_id="issue_search",
        block_id="issue_pick",
        value="Zero",
    )
    options = desk.send(suggestion).json()["options"]
    assert [o["value"] for o in options] == [desk.issue["id"]]
    assert options[0]["text"]["text"].startswith(short_id)
    # Nothing picked: the dialog says so.
    empty = desk.send(view_submission(ANA, "T111", view.view, {}))
    assert empty.json()["response_action"] == "errors"
    # A typed short ID.
    typed = {"issue_typed": {"issue_ref": {"type": "plain_text_input", "value": short_id}}}
    answer = desk.send(view_submission(ANA, "T111", view.view, typed)).json()
    assert answer["response_action"] == "update"
    assert f"Sent to Sentry as a comment on issue {short_id}." in json.dumps(answer["view"])
    [comment] = texts(desk.sentry, desk.issue["id"])
    assert "bo wrote in #random on Slack" in comment
    assert "the division fails again" in comment
    # An unknown one is named on its field.
    wrong = {"issue_typed": {"issue_ref": {"type": "plain_text_input", "value": "NOPE-1"}}}
    refused = desk.send(view_submission(ANA, "T111", view.view, wrong)).json()
    assert refused["response_action"] == "errors"
    assert "NOPE-1" in refused["errors"]["issue_typed"]


def test_every_card_of_the_issue_gets_the_comment_once(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    sentry.add_member("bo@example.com", name="Bo Berg", role="member")
    slack.add_channel(OTHER_CHANNEL, "random")
    config = (
        f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        f"  - channel: {OTHER_CHANNEL}\n    projects: [web]\n"
    )
    with make_bot(config=config) as bot:
        bot.wait_ready()
        wait_polls(sentry, 1, bot=bot)
        issue = sentry.create_issue("web", "TimeoutError: upstream")
        bot.poll_now()

        def cards() -> list[Any]:
            return [
                m
                for m in slack.messages()
                if (m.metadata or {}).get("event_type") == "sentry_issue_card"
                and m.metadata["event_payload"]["issue_id"] == issue["id"]
            ]

        slack.wait_for(lambda: len(cards()) == 2, 15)
        sentry.add_comment(issue["id"], "Rolling back", by="bo@example.com")
        wait_polls(sentry, 3, bot=bot)

        def replies(card: Any) -> list[Any]:
            return [
                m
                for m in slack.messages(card.channel)
                if m.thread_ts == card.ts and m.ts != card.ts
            ]

        slack.wait_for(lambda: all(len(replies(c)) == 1 for c in cards()), 10)
        wait_polls(sentry, 2, bot=bot)
        assert sorted(len(replies(c)) for c in cards()) == [1, 1]
        assert {replies(c)[0].text for c in cards()} == {
            "Bo Berg commented in Sentry: Rolling back"
        }
        assert len(sentry.requests_matching("GET", "/comments/")) == 1  # one read for both


def test_after_a_deleted_comment_the_next_new_one_still_arrives(desk: Desk) -> None:
    issue_id = desk.issue["id"]
    first = desk.sentry.add_comment(issue_id, "first", by="bo@example.com")
    wait_polls(desk.sentry, 2, bot=desk.bot)
    desk.slack.wait_for(lambda: len(thread_replies(desk)) == 1, 10)
    desk.sentry.delete_comment(issue_id, int(first["id"]))
    wait_polls(desk.sentry, 2, bot=desk.bot)
    desk.sentry.add_comment(issue_id, "second", by="bo@example.com")  # the count is back to 1
    wait_polls(desk.sentry, 2, bot=desk.bot)
    desk.slack.wait_for(lambda: len(thread_replies(desk)) == 2, 10)
    assert [m.text.rsplit(": ", 1)[1] for m in thread_replies(desk)] == ["first", "second"]


def test_send_to_sentry_elsewhere_refuses_a_non_member_before_asking(desk: Desk) -> None:
    desk.slack.add_user(NOBODY, "nobody@example.com", "nobody")
    desk.slack.add_channel(OTHER_CHANNEL, "random")
    ts = desk.slack.add_user_message(OTHER_CHANNEL, NOBODY, "hello")
    url = use_shortcut(
        desk, desk.slack.message(OTHER_CHANNEL, ts), user=NOBODY, channel=OTHER_CHANNEL
    )
    assert "No member of the Sentry organization" in said(desk, url)
    assert desk.slack.views() == []
    assert comment_posts(desk.sentry) == []
