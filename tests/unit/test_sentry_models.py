"""The typed models parse Sentry's own schema examples (copied in tests/contract/sentry/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.sentry.models import Assignee, Event, Issue, Member, Release

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "sentry"


def load(name: str) -> Any:
    return json.loads((CONTRACT / name).read_text())


def test_issue_list_example() -> None:
    [raw] = load("example-issue-list.json")
    issue = Issue.from_api(raw, web_base="https://sentry.io", org="acme")
    assert issue.id == "1"
    assert issue.short_id == "PUMP-STATION-1"
    assert issue.count == 150  # a string on the wire
    assert issue.user_count == 0
    assert issue.status == "ignored"
    assert issue.substatus == "archived_until_condition_met"
    assert issue.project.slug == "pump-station"
    assert issue.project.id == "2"
    assert issue.first_seen == datetime(2018, 11, 6, 21, 19, 55, tzinfo=UTC)
    assert (
        issue.permalink == "https://sentry.io/the-interstellar-jurisdiction/pump-station/issues/1/"
    )
    assert issue.assigned_to == Assignee(
        kind="user", id="1", name="John Doe", email="john.doe@example.com"
    )
    assert issue.assigned_to.actor_id == "user:1"


def test_issue_detail_example() -> None:
    issue = Issue.from_api(load("example-issue-detail.json"), web_base="https://x", org="acme")
    assert (issue.status, issue.substatus) == ("unresolved", "ongoing")
    assert issue.user_count == 12
    assert issue.culprit == "raven.scripts.runner in main"


def test_issue_without_permalink_gets_one_from_web_base() -> None:
    raw = dict(load("example-issue-detail.json"), permalink=None)
    issue = Issue.from_api(raw, web_base="https://sentry.example.com", org="acme")
    assert issue.permalink == "https://sentry.example.com/organizations/acme/issues/1/"


def test_event_example_has_exception_frames_oldest_first() -> None:
    event = Event.from_api(load("example-event-latest.json"))
    assert event.event_id == "9999aaaaca8b46d797c23c6077c6ff01"
    assert event.environment == "prod"
    assert event.tags["browser.name"] == "Chrome"
    [exception] = event.exceptions
    assert exception.type == "ForbiddenError"
    assert exception.value == "GET /organizations/hellboy-meowmeow/users/ 403"
    assert exception.frames[0].function == "ignoreOnError"
    assert [frame.function for frame in exception.frames] == ["ignoreOnError", "apply"]
    assert not any(frame.in_app for frame in exception.frames)
    assert exception.frames[0].line_no == 71


def test_member_example_maps_user_id_and_pending_invite() -> None:
    active, invite = (Member.from_api(m) for m in load("example-member-list.json"))
    assert active.id == "57377908164"
    assert active.user_id == "280094367316"
    assert active.emails == ("sirpenguin@antarcticarocks.com",)
    assert not active.pending
    assert invite.user_id is None
    assert invite.pending


def test_release_example_has_integer_ids_on_the_wire() -> None:
    [release] = (Release.from_api(r) for r in load("example-release-list.json"))
    assert release.version == "frontend@1.0.0"
    assert release.projects == ("sentry",)
    assert release.date_created == datetime(2024, 1, 1, tzinfo=UTC)
    assert release.date_released is None


def test_bulk_update_example_assignee_parses() -> None:
    delta = load("example-issue-bulk-update.json")
    assignee = Assignee.from_api(delta["assignedTo"])
    assert assignee is not None
    assert assignee.email == "john.doe@example.com"
    assert Assignee.from_api(None) is None
