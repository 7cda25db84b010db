"""The Home tab's view: a golden payload, and for any input a view Slack accepts (at most 100
blocks, every limit of Block Kit, unique block_ids) with every Sentry string escaped."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.home.view import (
    HOME_BLOCKS_MAX,
    DigestRow,
    HomeContent,
    HomeProblem,
    IssueSection,
    RouteRow,
    build_home,
    build_home_problem,
    parse_menu_value,
)
from bot.sentry.models import Assignee, Issue, ProjectRef
from bot.slack.actions import issue_id_from_block_id
from tests.fakes.blockkit_rules import validate_view
from tests.unit.test_card import assert_golden, make_issue

HOSTILE = "<!channel> & <@U123> <https://evil|x> `code` *bold*"
# What escaped text may still contain: the app's own links, mentions and dates.
OWN_SEQUENCE = re.compile(
    r"<(?:https?://[^|<>]+\|[^<>]*|#[CG][A-Z0-9]+|@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|!date\^[^<>]+)>"
)

texts = st.text(max_size=400) | st.sampled_from([HOSTILE, "", " ", "&amp;", "x" * 5000])


@st.composite
def issues(draw: st.DrawFn) -> Issue:
    issue_id = str(draw(st.integers(min_value=1, max_value=2**62)))
    assignee = draw(
        st.none()
        | st.builds(
            Assignee,
            kind=st.sampled_from(["user", "team"]),
            id=st.integers(1, 10**9).map(str),
            name=texts,
            email=st.none() | texts,
        )
    )
    return make_issue(
        id=issue_id,
        short_id=draw(texts),
        title=draw(texts),
        culprit=draw(texts),
        permalink=draw(st.sampled_from(["https://acme.sentry.io/issues/1/", "javascript:x", ""]))
        + draw(st.text(max_size=50)),
        level=draw(st.sampled_from(["error", "fatal", "warning"]) | texts),
        status=draw(st.sampled_from(["unresolved", "resolved", "ignored"])),
        project=ProjectRef(id="1", slug="backend", name=draw(texts)),  # type: ignore[arg-type]
        count=draw(st.integers(0, 10**12)),
        user_count=draw(st.integers(0, 10**12)),
        assigned_to=assignee,
    )


def sections(draw: st.DrawFn) -> IssueSection:
    found = draw(st.lists(issues(), max_size=30))
    return IssueSection(
        issues=found,
        total=draw(st.integers(0, 10**6)),
        more_url=draw(st.sampled_from(["https://acme.sentry.io/issues/?query=x", "", "ftp://x"])),
    )


channels = st.sampled_from(["C0OPS0001", "G0PRIV001", "not a channel <!here>"])


@st.composite
def contents(draw: st.DrawFn) -> HomeContent:
    routes = draw(
        st.lists(
            st.builds(
                RouteRow,
                id=st.integers(1, 10**9),
                channel=channels,
                projects=st.lists(texts, max_size=5).map(tuple),
                query=texts,
                environment=st.none() | texts,
                mention=st.lists(
                    st.sampled_from(["U0ANA0001", "S0ONCALL1", "bad<id>"]), max_size=30
                ).map(tuple),
                editable=st.booleans(),
            ),
            max_size=120,
            unique_by=lambda r: r.id,
        )
    )
    digests = draw(
        st.lists(
            st.builds(
                DigestRow,
                id=st.integers(1, 10**9),
                channel=channels,
                cron=texts,
                timezone=texts,
                projects=st.lists(texts, max_size=5).map(tuple),
                editable=st.booleans(),
            ),
            max_size=60,
            unique_by=lambda d: d.id,
        )
    )
    has_teams = draw(st.booleans())
    return HomeContent(
        mine=sections(draw),
        teams=sections(draw) if has_teams else None,
        team_names=tuple(draw(st.lists(texts, max_size=4))),
        routes=routes,
        digests=digests,
        notice=draw(st.none() | texts),
    )


def assert_escaped(view: dict[str, Any]) -> None:
    """No control sequence in any mrkdwn text but the app's own (links, mentions, dates)."""
    for block in view["blocks"]:
        for text in _mrkdwn_texts(block):
            leftover = OWN_SEQUENCE.sub("", text)
            assert "<" not in leftover, text
            assert ">" not in leftover, text


def _mrkdwn_texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["text"]] if value.get("type") == "mrkdwn" else []
        for child in value.values():
            found += _mrkdwn_texts(child)
        return found
    if isinstance(value, list):
        return [t for child in value for t in _mrkdwn_texts(child)]
    return []


@given(contents())
def test_any_content_gives_a_view_slack_accepts(content: HomeContent) -> None:
    view = build_home(content)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= HOME_BLOCKS_MAX
    assert validate_view(view) == []
    block_ids = [b["block_id"] for b in view["blocks"]]
    assert len(block_ids) == len(set(block_ids))
    assert_escaped(view)
    assert len(json.dumps(view).encode()) < 250_000  # Slack: views.publish `view_too_large`
    # Issue controls keep the issue id in their block: what the assign menu reads back.
    for block in view["blocks"]:
        if block["block_id"].startswith("issue:"):
            issue_id_from_block_id(block["block_id"])


# Fifty generated issues per example make this the costliest property in the suite; what it
# checks is a count, the same for any content (escaping and limits of every field are the
# properties above), so a few examples prove it.
@settings(max_examples=10)
@given(st.lists(issues(), min_size=25, max_size=25), st.lists(issues(), min_size=25, max_size=25))
def test_each_list_shows_at_most_twenty_issues(mine: list[Issue], theirs: list[Issue]) -> None:
    unique_mine = [replace(issue, id=str(n + 1)) for n, issue in enumerate(mine)]
    unique_theirs = [replace(issue, id=str(n + 100)) for n, issue in enumerate(theirs)]
    view = build_home(
        HomeContent(
            mine=IssueSection(unique_mine, 25, ""),
            teams=IssueSection(unique_theirs, 25, ""),
            team_names=("backend",),
        )
    )
    summaries = [b for b in view["blocks"] if b["block_id"].split(":")[2:3] == ["summary"]]
    assert len(summaries) == 40
    assert "Showing 20 of 25" in json.dumps(view)


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_any_problem_gives_a_view_slack_accepts(reason: str, advice: str, notice: str) -> None:
    view = build_home_problem(HomeProblem("Cannot show", reason, advice, notice=notice or None))
    assert validate_view(view) == []
    assert_escaped(view)


def test_routes_beyond_the_room_are_counted_not_dropped_silently() -> None:
    rows = [
        RouteRow(n, "C0OPS0001", ("web",), "is:unresolved", None, (), True) for n in range(1, 200)
    ]
    view = build_home(
        HomeContent(mine=IssueSection((), 0, ""), teams=None, team_names=(), routes=rows)
    )
    assert len(view["blocks"]) == HOME_BLOCKS_MAX
    shown = sum(1 for b in view["blocks"] if b["block_id"].startswith("home:route:"))
    assert f"{199 - shown} more routes are not shown" in json.dumps(view)


def test_menu_values_round_trip_and_refuse_anything_else() -> None:
    assert parse_menu_value("edit:12") == ("edit", 12)
    assert parse_menu_value("remove:7") == ("remove", 7)
    for bad in (
        "",
        "edit:",
        "edit:-1",
        "drop:1",
        "edit:1x",
        "edit:\u0661",
        None,
        3,
        "edit:" + "9" * 30,
    ):
        assert parse_menu_value(bad) is None


def test_home_view_golden() -> None:
    mine = make_issue(
        assigned_to=Assignee(kind="user", id="7", name="Ana Lima", email="ana@acme.test"),
        title=HOSTILE,
    )
    theirs = make_issue(
        id="4506842919",
        short_id="BACKEND-3G",
        status="ignored",
        assigned_to=Assignee(kind="team", id="3", name="backend"),
        last_seen=datetime(2026, 11, 3, 15, 0, tzinfo=UTC),
    )
    content = HomeContent(
        mine=IssueSection([mine], 1, "https://acme.sentry.io/organizations/acme/issues/?query=x"),
        teams=IssueSection([theirs], 3, ""),
        team_names=("backend",),
        routes=[
            RouteRow(
                1,
                "C0OPS0001",
                ("backend",),
                "is:unresolved level:error",
                "production",
                ("U0ANA0001", "S0ONCALL1"),
                True,
            ),
            RouteRow(2, "C0ALERTS1", (), "is:unresolved", None, (), False),
        ],
        digests=[DigestRow(3, "C0OPS0001", "0 9 * * 1-5", "Europe/Berlin", (), True)],
        notice="Route added.",
    )
    assert_golden("home_view.json", build_home(content))
