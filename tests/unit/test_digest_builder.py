"""The digest message: golden payloads plus invariants (limits, escaping, one-line redraw).

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 pytest tests/unit/test_digest_builder.py`, then review the diff of `tests/golden/`.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.digests.builder import (
    build_digest,
    issue_line,
    parse_line_block_id,
    replace_issue_line,
)
from bot.digests.model import DigestContent
from bot.sentry.models import Assignee, Issue, ProjectRef, Release
from bot.slack import actions
from bot.slack.actions import ActionValue
from tests.fakes.blockkit_rules import validate_blocks

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
HOSTILE = "<!channel> & <@U123> <https://evil|x>"
START = datetime(2026, 3, 26, 8, tzinfo=UTC)
END = datetime(2026, 3, 27, 8, tzinfo=UTC)
PROJECTS = {
    "backend": ProjectRef(id="11", slug="backend", name="Backend"),
    "web": ProjectRef(id="12", slug="web", name="Web"),
}


def assert_golden(name: str, payload: dict[str, Any]) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(path.read_text(encoding="utf-8"))


def make_issue(number: int, **changes: Any) -> Issue:
    project = changes.pop("project", "backend")
    base = Issue(
        id=str(4506842900 + number),
        short_id=f"{project.upper()}-{number}",
        title=f"TypeError: failure number {number}",
        culprit="app.billing in render",
        permalink=f"https://acme.sentry.io/issues/{4506842900 + number}/",
        level="error",
        status="unresolved",
        substatus="ongoing",
        status_details={},
        project=PROJECTS.get(project)
        or ProjectRef(id=str(100 + number), slug=project, name=project),
        count=1000 - number,
        user_count=50 - number % 50,
        first_seen=START - timedelta(days=3),
        last_seen=END - timedelta(minutes=number),
        assigned_to=None,
    )
    return replace(base, **changes)


def content(**changes: Any) -> DigestContent:
    new = make_issue(1, substatus="new", first_seen=START + timedelta(hours=2), count=40)
    base = DigestContent(
        projects=("backend",),
        period_start=START,
        period_end=END,
        new_issues=(
            new,
            make_issue(7, substatus="new", first_seen=START + timedelta(hours=1), count=2),
        ),
        new_total=2,
        active=(
            make_issue(2),
            make_issue(3, substatus="regressed"),
            new,
            make_issue(4, substatus="escalating"),
        ),
        active_total=4,
        resolved=3,
        ignored=1,
        releases=(
            Release(
                version="backend@2.4.0",
                short_version="2.4.0",
                date_created=START + timedelta(hours=4),
                date_released=None,
                new_groups=1,
                commit_count=3,
                projects=("backend",),
                url=None,
            ),
        ),
        top=2,
        new_search_url="https://acme.sentry.io/organizations/acme/issues/?query=firstSeen",
        active_search_url="https://acme.sentry.io/organizations/acme/issues/?query=lastSeen",
    )
    return replace(base, **changes)


def check(payload: dict[str, Any]) -> None:
    assert validate_blocks(payload["blocks"]) == []
    assert len(payload["blocks"]) <= 50
    for block in payload["blocks"]:
        accessory = block.get("accessory")
        if accessory:
            assert accessory["action_id"] == actions.DIGEST_TRIAGE
            for option in accessory["options"]:
                ActionValue.decode(option["value"])


def test_single_project_golden() -> None:
    payload = build_digest(content())
    check(payload)
    assert_golden("digest_single_project.json", payload)


def test_several_projects_golden_groups_lines_by_project() -> None:
    web = make_issue(5, project="web", count=2000)
    payload = build_digest(
        content(
            projects=("backend", "web"),
            active=(web, *content().active),
            active_total=5,
            top=3,
        )
    )
    check(payload)
    assert_golden("digest_several_projects.json", payload)
    headings = [
        b["text"]["text"] for b in payload["blocks"] if b["block_id"].startswith("digest:project")
    ]
    assert [h.split(" · ")[0] for h in headings] == ["*web*", "*backend*"]


def test_late_digest_says_so_golden() -> None:
    payload = build_digest(content(scheduled_for=END, new_total=250, active_total=900))
    check(payload)
    assert_golden("digest_late.json", payload)
    more = payload["blocks"][-1]["elements"][0]["text"]
    assert "and 248 more new" in more
    assert "and 896 more active" in more


def test_empty_period_is_one_line_golden() -> None:
    payload = build_digest(
        content(
            new_issues=(),
            new_total=0,
            active=(),
            active_total=0,
            resolved=0,
            ignored=0,
            releases=(),
        )
    )
    check(payload)
    assert len(payload["blocks"]) == 1
    assert_golden("digest_empty.json", payload)


def test_fifty_projects_and_hundreds_of_issues_stay_within_fifty_blocks() -> None:
    active = tuple(
        make_issue(n, project=f"proj-{n % 50}", substatus="regressed" if n % 7 == 0 else "ongoing")
        for n in range(100)
    )
    new = tuple(make_issue(200 + n, project=f"proj-{n % 50}", substatus="new") for n in range(100))
    payload = build_digest(
        content(
            projects=tuple(f"proj-{i}" for i in range(50)),
            active=active,
            new_issues=new,
            active_total=10_000,
            new_total=10_000,
            top=40,
        )
    )
    check(payload)
    assert len(payload["blocks"]) == 50
    assert payload["blocks"][-1]["block_id"] == "digest:more"


def test_hostile_titles_and_names_are_escaped() -> None:
    evil = make_issue(
        9,
        title=HOSTILE,
        short_id=HOSTILE,
        project="backend",
        assigned_to=Assignee(kind="user", id="1", name=HOSTILE),
        status="ignored",
    )
    payload = build_digest(
        content(
            projects=(HOSTILE,),
            active=(evil,),
            releases=(replace(content().releases[0], short_version=HOSTILE),),
        )
    )
    check(payload)
    rendered = payload["text"] + json.dumps(payload["blocks"])
    for raw in ("<!channel>", "<@U123>", "<https://evil"):
        assert raw not in rendered


def test_replace_issue_line_changes_only_that_line() -> None:
    payload = build_digest(content())
    target = make_issue(3, substatus="regressed")
    resolved = replace(
        target,
        status="resolved",
        substatus=None,
        count=99_999,
        assigned_to=Assignee(kind="user", id="7", name="Ana"),
    )
    before = payload["blocks"]
    after = replace_issue_line(before, resolved)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1
    line = after[changed[0]]
    assert validate_blocks(after) == []
    parsed = parse_line_block_id(line["block_id"])
    assert parsed is not None
    issue_id, kind, events, _users = parsed
    # The period's figures stay; the state is Sentry's new one.
    assert (issue_id, kind) == (target.id, "regressed")
    assert events == target.count
    assert "Resolved" in line["text"]["text"]
    assert "Ana" in line["text"]["text"]
    assert f"{events:,} events" in line["text"]["text"]
    labels = [o["text"]["text"] for o in line["accessory"]["options"]]
    assert labels == ["Unresolve", "Assign to me"]
    assert line["block_id"] != before[changed[0]]["block_id"]


def test_issue_line_golden() -> None:
    assert_golden(
        "digest_issue_line.json", issue_line(make_issue(2), kind="top", events=12, users=3)
    )
