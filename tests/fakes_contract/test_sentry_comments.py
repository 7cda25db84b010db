"""The fake Sentry's issue comments behave like Sentry's `GroupNotesEndpoint`: one row per rule.

Sentry `src/sentry/issues/endpoints/group_notes.py` (routes `…/issues/{id}/comments/` and
`…/notes/`, `api/urls.py`), `NoteSerializer` (DRF `CharField`), `ActivitySerializer`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.sentry_params import FORBIDDEN
from tests.fakes.sentry_server import FakeSentry

TOKEN = "sntryu_comments0123456789"
DUPLICATE = {"detail": "You have already posted that comment."}


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> Iterator[tuple[FakeSentry, str, Clock]]:
    clock = Clock()
    with FakeSentry(org="acme", token=TOKEN, clock=clock) as sentry:
        sentry.add_member("bo@acme.test", name="Bo Berg")
        issue = sentry.create_issue("web", "TypeError: x")
        yield sentry, str(issue["id"]), clock


def post(sentry: FakeSentry, issue: str, body: object, path: str = "comments") -> httpx.Response:
    return httpx.post(
        f"{sentry.url}/api/0/organizations/acme/issues/{issue}/{path}/",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


def get(sentry: FakeSentry, issue: str) -> httpx.Response:
    return httpx.get(
        f"{sentry.url}/api/0/organizations/acme/issues/{issue}/comments/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({}, {"text": ["This field is required."]}),
        ({"text": ""}, {"text": ["This field may not be blank."]}),
        ({"text": "   \n"}, {"text": ["This field may not be blank."]}),
        ({"text": None}, {"text": ["This field may not be null."]}),
        (["text"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_comment_text_is_required_and_not_blank(
    world: tuple[FakeSentry, str, Clock], body: object, answer: object
) -> None:
    sentry, issue, _ = world
    response = post(sentry, issue, body)
    assert (response.status_code, response.json()) == (400, answer)
    assert sentry.comments(issue) == []


def test_posting_needs_event_write(world: tuple[FakeSentry, str, Clock]) -> None:
    sentry, issue, _ = world
    sentry.scopes = {"event:read", "org:read"}
    response = post(sentry, issue, {"text": "hello"})
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert get(sentry, issue).status_code == 200  # reading needs event:read only


def test_a_comment_is_written_by_the_tokens_user_and_counted(
    world: tuple[FakeSentry, str, Clock],
) -> None:
    sentry, issue, _ = world
    response = post(sentry, issue, {"text": " hello "})
    assert response.status_code == 201
    created = response.json()
    assert created["type"] == "note"
    assert created["data"] == {"text": "hello"}  # DRF CharField trims
    assert created["user"]["id"] == sentry.token_user["id"]
    assert sentry.issue(issue)["numComments"] == 1
    sentry.add_comment(issue, "from the web UI", by="bo@acme.test")
    listed = get(sentry, issue).json()
    assert [c["data"]["text"] for c in listed] == ["from the web UI", "hello"]  # newest first
    assert listed[0]["user"]["name"] == "Bo Berg"
    assert sentry.issue(issue)["numComments"] == 2


def test_the_same_text_by_the_same_author_within_an_hour_is_refused(
    world: tuple[FakeSentry, str, Clock],
) -> None:
    sentry, issue, clock = world
    assert post(sentry, issue, {"text": "Resolved in Slack by Ana"}).status_code == 201
    again = post(sentry, issue, {"text": "Resolved in Slack by Ana"}, path="notes")
    assert (again.status_code, again.json()) == (400, DUPLICATE)
    assert len(sentry.comments(issue)) == 1
    other = sentry.create_issue("web", "KeyError: y")
    assert post(sentry, str(other["id"]), {"text": "Resolved in Slack by Ana"}).status_code == 201
    clock.now += 3601
    assert post(sentry, issue, {"text": "Resolved in Slack by Ana"}).status_code == 201


def test_comments_of_an_unknown_issue_are_not_found(world: tuple[FakeSentry, str, Clock]) -> None:
    sentry, _, _ = world
    response = post(sentry, "999999", {"text": "hello"})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "The requested resource does not exist"},
    )
