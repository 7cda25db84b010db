"""`/sentry` replies: golden payloads for the key answers, Slack's limits, escaping, button values.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 pytest tests/unit/test_command_replies.py` and review the diff of `tests/golden/`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.commands.help import HELP_LINES
from bot.commands.model import UnsubscribeCommand
from bot.sentry.models import Event, ExceptionValue, Frame, Project, Release, TeamRef
from bot.slack.replies.catalog import ProjectSummary, build_project_list, build_release_detail
from bot.slack.replies.common import MESSAGE_BLOCKS_MAX, error_reply, help_reply
from bot.slack.replies.issues import (
    ISSUES_PAGE_SIZE,
    build_event_list,
    build_issue_detail,
    build_issue_list,
)
from bot.slack.replies.links import SentryLinks
from bot.slack.replies.subscriptions import build_unsubscribed
from bot.slack.replies.triage import (
    DeleteRequest,
    NotChanged,
    build_delete_modal,
    build_triage_reply,
)
from bot.slack.reply_actions import BUTTON_VALUE_MAX, QueryRef, QueryRefError
from tests.fakes.blockkit_rules import validate_blocks
from tests.unit.test_card import HOSTILE, LAST_SEEN, assert_golden, make_issue

LINKS = SentryLinks(web_base="https://sentry.io", org="acme")
EVENT = Event(
    id="9f1c",
    event_id="9f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
    title="TypeError: 'NoneType' object is not subscriptable",
    message="",
    date_created=LAST_SEEN,
    release="backend@2.4.1",
    environment="production",
    tags={"environment": "production", "browser": "Firefox 120", "os": "Linux", "user": "id:42"},
    exceptions=(
        ExceptionValue(
            type="TypeError",
            value="'NoneType' object is not subscriptable",
            frames=(
                Frame("runtime/server.py", "serve", 120, in_app=False),
                Frame("app/views.py", "dispatch", 42, in_app=True),
                Frame("app/billing/invoice.py", "render_total", 7, in_app=True),
            ),
        ),
    ),
)


def assert_valid(message: dict[str, Any]) -> None:
    assert len(message["blocks"]) <= MESSAGE_BLOCKS_MAX
    assert validate_blocks(message["blocks"]) == []
    assert message["text"]


def test_issue_list_golden() -> None:
    issues = [make_issue(), make_issue(id="4506842919", short_id="BACKEND-3G", count=7)]
    message = build_issue_list(
        issues,
        query="is:unresolved level:error",
        project="backend",
        sort="freq",
        offset=0,
        total=57,
        search_url=LINKS.issues(query="is:unresolved level:error", sort="freq", project_id="11"),
        share=QueryRef("issues backend level:error --sort freq"),
        more=QueryRef("issues backend level:error --sort freq", "0:10:0", 10),
    )
    assert_valid(message)
    assert_golden("reply_issue_list.json", message)


def test_a_full_page_of_issues_stays_within_fifty_blocks() -> None:
    issues = [
        make_issue(id=str(4506842900 + n), short_id=f"BACKEND-{n}", title=HOSTILE * 20)
        for n in range(ISSUES_PAGE_SIZE)
    ]
    message = build_issue_list(
        issues,
        query=HOSTILE,
        project=None,
        sort="date",
        offset=20,
        total=1000,
        search_url=LINKS.issues(query=HOSTILE, sort="date"),
        share=QueryRef("issues x"),
        more=QueryRef("issues x", "c", 30),
    )
    assert_valid(message)
    assert "<!channel>" not in json.dumps(message)
    with pytest.raises(ValueError, match="at most"):
        build_issue_list(
            [*issues, make_issue()],
            query="",
            project=None,
            sort="date",
            offset=0,
            total=None,
            search_url="https://sentry.io",
        )


def test_issue_detail_golden() -> None:
    message = build_issue_detail(make_issue(), EVENT, share=QueryRef("issue BACKEND-3F"))
    assert_valid(message)
    assert_golden("reply_issue_detail.json", message)


def test_issue_detail_escapes_the_event() -> None:
    hostile = replace(
        EVENT,
        tags={"url": HOSTILE, "user": HOSTILE},
        exceptions=(ExceptionValue(HOSTILE, HOSTILE, (Frame(HOSTILE, HOSTILE, 1, True),)),),
    )
    message = build_issue_detail(make_issue(), hostile, shared_by="U0456ANA")
    assert_valid(message)
    payload = json.dumps(message)
    for raw in ("<!channel>", "<@U123>", "<https://evil"):
        assert raw not in payload
    assert "reply.share" not in payload
    assert "Shared by <@U0456ANA>" in payload


def test_event_list_shows_ids_times_and_messages() -> None:
    events = [
        replace(EVENT, event_id=f"{n:02d}" + "f" * 30, message=f"boom {n}") for n in range(30)
    ]
    message = build_event_list(
        make_issue(), events, has_more=True, events_url="https://sentry.io/issues/1/events/"
    )
    assert_valid(message)
    text = json.dumps(message)
    assert "19ffffffffff" in text
    assert "20ffffffffff" not in text
    assert "And more earlier events" in text


def test_triage_reply_golden() -> None:
    resolved = make_issue(status="resolved", substatus=None)
    message = build_triage_reply(
        "Resolved",
        [resolved, replace(resolved, id="4506842919", short_id="BACKEND-3G")],
        [NotChanged("WEB-ZZ", "not found in Sentry")],
    )
    assert_valid(message)
    assert_golden("reply_triage.json", message)


def test_triage_reply_lists_at_most_a_readable_number_of_issues() -> None:
    many = [make_issue(id=str(4506842000 + n), short_id=f"B-{n}") for n in range(100)]
    message = build_triage_reply("Ignored forever", many, [NotChanged(HOSTILE, HOSTILE)] * 100)
    assert_valid(message)
    assert "…and 70 more" in json.dumps(message, ensure_ascii=False)
    assert len(json.dumps(message)) < 40_000


def test_delete_modal_names_the_issue_and_carries_it() -> None:
    modal = build_delete_modal(make_issue(title=HOSTILE), "C0123")
    assert modal["callback_id"] == "issue.delete.confirm"
    assert "BACKEND-3F" in json.dumps(modal["blocks"])
    assert "<!channel>" not in json.dumps(modal)
    request = DeleteRequest.decode(modal["private_metadata"])
    assert request == DeleteRequest("4506842918", "BACKEND-3F", "C0123")


def test_help_and_errors_are_escaped() -> None:
    message = help_reply(HELP_LINES)
    assert_valid(message)
    assert "&lt;issue…&gt;" in json.dumps(message, ensure_ascii=False)
    assert "<issue" not in json.dumps(message)
    error = error_reply("'<!here>' is not an issue", "/sentry issue <ID>")
    assert "<!here>" not in json.dumps(error)
    assert_valid(error)


def test_project_list_and_release_detail() -> None:
    project = Project(
        id="11",
        slug="web",
        name="Web",
        platform="javascript",
        teams=(TeamRef("1", "backend", "Backend"),),
        latest_release="web@3.0.0",
    )
    message = build_project_list(
        [ProjectSummary(project, unresolved=12)] * 70, links=LINKS, share=QueryRef("projects")
    )
    assert_valid(message)
    assert "And 10 more" in json.dumps(message)
    release = Release(
        version="web@3.0.0",
        short_version="3.0.0",
        date_created=datetime(2026, 11, 1, tzinfo=UTC),
        date_released=None,
        new_groups=4,
        commit_count=2,
        projects=("web",),
        url=None,
    )
    detail = build_release_detail(release, links=LINKS)
    assert_valid(detail)
    assert "https://sentry.io/organizations/acme/releases/web%403.0.0/" in json.dumps(detail)


@pytest.mark.parametrize(
    "ref",
    [
        QueryRef("issues web is:unassigned"),
        QueryRef('issues "quoted" ünïcode', "1700000000000:0:0", 10),
        QueryRef(""),
    ],
)
def test_query_ref_round_trip(ref: QueryRef) -> None:
    assert QueryRef.decode(ref.encode()) == ref


@pytest.mark.parametrize(
    "value", ["", "x", "[]", '{"v":2,"t":"x"}', '{"v":1}', '{"v":1,"t":"x","o":-1}', None]
)
def test_query_ref_refuses_foreign_values(value: object) -> None:
    with pytest.raises(QueryRefError):
        QueryRef.decode(value)


def test_a_query_too_long_for_a_button_gets_no_button() -> None:
    ref = QueryRef("issues " + "x" * BUTTON_VALUE_MAX)
    assert not ref.fits()
    message = build_issue_detail(make_issue(), None, share=ref)
    assert "reply.share" not in json.dumps(message)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (None, "This channel has no subscription made in Slack."),
        ("*", "This channel has no subscription to *every project* made in Slack."),
        ("web", "This channel has no subscription to *web* made in Slack."),
    ],
)
def test_unsubscribing_what_is_not_there_names_what_was_asked_for(
    typed: str | None, says: str
) -> None:
    reply = build_unsubscribed(0, projects=UnsubscribeCommand(typed).projects, file_routes=0)
    assert_valid(reply)
    assert says in json.dumps(reply)
