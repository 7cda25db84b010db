"""The fake Sentry refuses what Sentry refuses, the way Sentry does: one row per rule.

Each row sends one bad request with plain httpx and compares status and body with the real
server's (the source of each rule is in tests/fakes/README.md). One server for the module; no
row changes its state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes.sentry_params import (
    ERR_GROUP_STATS_PERIOD,
    ERR_PROJECT,
    ERR_PROJECT_STATS_PERIOD,
    FORBIDDEN,
    INTERNAL_ERROR,
)
from tests.fakes.sentry_server import FakeSentry

TOKEN = "sntryu_contract0123456789"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOT_FOUND = {"detail": "The requested resource does not exist"}
NO_RELEASE = "No release data present in the system to form a basis for 'Next Release'"


@dataclass(frozen=True)
class Refusal:
    """A request (placeholders `{web}`, `{api}`, `{hidden}`, `{issue}`, `{api_issue}`) and the
    answer Sentry gives it. `body=None` checks the status only."""

    method: str
    path: str
    status: int
    body: Any = None
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    content: bytes | None = None
    auth: str | None = f"Bearer {TOKEN}"


ORG = "/api/0/organizations/acme"
ISSUES = f"{ORG}/issues/"
ISSUE = f"{ORG}/issues/{{issue}}/"
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}

RULES: dict[str, Refusal] = {
    # authentication (src/sentry/api/authentication.py, DRF NotAuthenticated)
    "no_authorization": Refusal("GET", ISSUES, 401, NOT_AUTHENTICATED, auth=None),
    "unknown_scheme": Refusal("GET", ISSUES, 401, NOT_AUTHENTICATED, auth=f"Token {TOKEN}"),
    "bearer_without_token": Refusal(
        "GET",
        ISSUES,
        401,
        {"detail": "Invalid token header. No credentials provided."},
        auth="Bearer",
    ),
    "wrong_token": Refusal("GET", ISSUES, 401, {"detail": "Invalid token"}, auth="Bearer sntryu_x"),
    "unknown_org": Refusal("GET", "/api/0/organizations/other/issues/", 404, NOT_FOUND),
    "method_not_allowed": Refusal("POST", ISSUE, 405, {"detail": 'Method "POST" not allowed.'}),
    # project= on organization endpoints (api/bases/organization.py)
    "issues_project_slug": Refusal(
        "GET", ISSUES, 400, {"detail": ERR_PROJECT}, params=[("project", "web")]
    ),
    "issues_project_unknown_id": Refusal(
        "GET", ISSUES, 403, FORBIDDEN, params=[("project", "987654")]
    ),
    "issues_project_not_visible": Refusal(
        "GET", ISSUES, 403, FORBIDDEN, params=[("project", "{web}"), ("project", "{hidden}")]
    ),
    "group_lookup_project_slug": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": ERR_PROJECT},
        params=[("group", "{issue}"), ("project", "web")],
    ),
    "releases_project_slug": Refusal(
        "GET", f"{ORG}/releases/", 400, {"detail": ERR_PROJECT}, params=[("project", "web")]
    ),
    "bulk_put_project_slug": Refusal(
        "PUT",
        ISSUES,
        400,
        {"detail": ERR_PROJECT},
        params=[("id", "{issue}"), ("project", "web")],
        json={"status": "resolved"},
    ),
    "bulk_delete_project_slug": Refusal(
        "DELETE",
        ISSUES,
        400,
        {"detail": ERR_PROJECT},
        params=[("id", "{issue}"), ("project", "web")],
    ),
    "issues_environment_never_seen": Refusal(
        "GET", ISSUES, 404, NOT_FOUND, params=[("environment", "staging")]
    ),
    # issue search parameters (helpers/group_index/index.py, organization_group_index.py)
    "limit_not_integer": Refusal(
        "GET", ISSUES, 400, {"detail": "invalid limit"}, params=[("limit", "ten")]
    ),
    "limit_below_one": Refusal(
        "GET", ISSUES, 400, {"detail": "invalid limit"}, params=[("limit", "0")]
    ),
    "cursor_malformed": Refusal(
        "GET", ISSUES, 400, {"detail": "Invalid cursor parameter."}, params=[("cursor", "abc")]
    ),
    "group_not_integer": Refusal(
        "GET", ISSUES, 400, {"detail": "Group ids must be integers"}, params=[("group", "WEB-1")]
    ),
    "sort_unknown_is_a_server_error": Refusal(
        "GET", ISSUES, 500, INTERNAL_ERROR, params=[("sort", "priority")]
    ),
    "sort_inbox_outside_inbox_search": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": "Sort key 'inbox' only supported for inbox search"},
        params=[("sort", "inbox"), ("query", "is:unresolved")],
    ),
    "stats_period_malformed": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": "Invalid statsPeriod: '1day'"},
        params=[("statsPeriod", "1day")],
    ),
    "start_without_end": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": "start and end are both required"},
        params=[("start", "2026-03-01T00:00:00Z")],
    ),
    "start_after_end": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": "start must be before end"},
        params=[("start", "2026-03-02T00:00:00Z"), ("end", "2026-03-01T00:00:00Z")],
    ),
    "group_stats_period_unknown": Refusal(
        "GET", ISSUES, 400, {"detail": ERR_GROUP_STATS_PERIOD}, params=[("groupStatsPeriod", "7d")]
    ),
    "project_list_stats_period_unknown": Refusal(
        "GET",
        "/api/0/projects/acme/web/issues/",
        400,
        {"detail": ERR_PROJECT_STATS_PERIOD},
        params=[("statsPeriod", "7d")],
    ),
    "query_unparseable": Refusal(
        "GET",
        ISSUES,
        400,
        {"detail": "Error parsing search query: unclosed quote"},
        params=[("query", 'title:"open')],
    ),
    # list pagination (utils/pagination_factory.py, api/base.py)
    "per_page_over_100": Refusal(
        "GET",
        f"{ORG}/members/",
        400,
        {"detail": "Invalid per_page value. Cannot exceed 100."},
        params=[("per_page", "101")],
    ),
    "per_page_not_integer": Refusal(
        "GET",
        f"{ORG}/projects/",
        400,
        {"detail": "Invalid per_page parameter."},
        params=[("per_page", "all")],
    ),
    "list_cursor_malformed": Refusal(
        "GET",
        f"{ORG}/teams/",
        400,
        {"detail": "Invalid cursor parameter."},
        params=[("cursor", "next")],
    ),
    # issue update body (validators/group.py, validators/status_details.py, DRF fields)
    "update_body_not_object": Refusal(
        "PUT",
        ISSUE,
        400,
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        json=["resolved"],
    ),
    "update_body_not_json": Refusal(
        "PUT", ISSUE, 400, {"detail": "JSON parse error - Expecting value"}, content=b"status=x"
    ),
    "assigned_to_null": Refusal(
        "PUT",
        ISSUE,
        400,
        {"assignedTo": ["This field may not be null."]},
        json={"assignedTo": None},
    ),
    "status_unknown": Refusal(
        "PUT",
        ISSUE,
        400,
        {"status": ['"archived" is not a valid choice.']},
        json={"status": "archived"},
    ),
    "substatus_for_wrong_status": Refusal(
        "PUT",
        ISSUE,
        400,
        {"substatus": ["Invalid substatus 'archived_forever' for status 'unresolved'."]},
        json={"status": "unresolved", "substatus": "archived_forever"},
    ),
    "status_details_not_object": Refusal(
        "PUT",
        ISSUE,
        400,
        {"statusDetails": ["Invalid data. Expected a dictionary, but got str."]},
        json={"status": "resolved", "statusDetails": "inNextRelease"},
    ),
    "in_release_unknown": Refusal(
        "PUT",
        ISSUE,
        400,
        {"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}},
        json={"status": "resolved", "statusDetails": {"inRelease": "9.9.9"}},
    ),
    "in_release_latest_without_releases": Refusal(
        "PUT",
        f"{ORG}/issues/{{api_issue}}/",
        400,
        {"statusDetails": {"inRelease": [NO_RELEASE]}},
        json={"status": "resolved", "statusDetails": {"inRelease": "latest"}},
    ),
    "in_next_release_without_releases": Refusal(
        "PUT",
        f"{ORG}/issues/{{api_issue}}/",
        400,
        {"statusDetails": {"inNextRelease": [NO_RELEASE]}},
        json={"status": "resolved", "statusDetails": {"inNextRelease": True}},
    ),
    "in_commit_without_repository": Refusal(
        "PUT",
        ISSUE,
        400,
        {"statusDetails": {"inCommit": {"repository": ["This field is required."]}}},
        json={"status": "resolved", "statusDetails": {"inCommit": {"commit": "abc123"}}},
    ),
    "ignore_window_over_a_week": Refusal(
        "PUT",
        ISSUE,
        400,
        {"statusDetails": {"ignoreWindow": ["Ensure this value is less than or equal to 10080."]}},
        json={"status": "ignored", "statusDetails": {"ignoreCount": 5, "ignoreWindow": 20000}},
    ),
    "boolean_field_not_boolean": Refusal(
        "PUT",
        ISSUE,
        400,
        {"isBookmarked": ["Must be a valid boolean."]},
        json={"isBookmarked": "yes"},
    ),
    "assigned_to_unknown_kind": Refusal(
        "PUT",
        ISSUE,
        400,
        {
            "assignedTo": [
                "Could not parse actor. Format should be `type:id` where type is `team` or `user`."
            ]
        },
        json={"assignedTo": "robot:1"},
    ),
    "assigned_to_non_member": Refusal(
        "PUT",
        ISSUE,
        400,
        {"assignedTo": ["User is not a member of this organization"]},
        json={"assignedTo": "stranger@example.com"},
    ),
    # bulk mutations (organization_group_index.py, helpers/group_index/update.py)
    "bulk_put_without_ids": Refusal(
        "PUT",
        ISSUES,
        400,
        {"detail": "The fake Sentry refuses bulk changes without id="},
        json={"status": "resolved"},
    ),
    "bulk_delete_without_ids": Refusal(
        "DELETE", ISSUES, 400, {"detail": "The fake Sentry refuses bulk changes without id="}
    ),
    "bulk_put_id_not_integer": Refusal(
        "PUT", ISSUES, 500, INTERNAL_ERROR, params=[("id", "WEB-1")], json={"status": "resolved"}
    ),
    "bulk_resolve_in_release_across_projects": Refusal(
        "PUT",
        ISSUES,
        400,
        {"detail": "Cannot set resolved for multiple projects."},
        params=[("id", "{issue}"), ("id", "{api_issue}")],
        json={"status": "resolved", "statusDetails": {"inNextRelease": True}},
    ),
    # lookups
    "issue_unknown": Refusal("GET", f"{ORG}/issues/999999/", 404, NOT_FOUND),
    "short_id_unknown": Refusal("GET", f"{ORG}/shortids/WEB-ZZZ/", 404, NOT_FOUND),
    "event_unknown": Refusal(
        "GET",
        f"{ORG}/issues/{{issue}}/events/{'f' * 32}/",
        404,
        {
            "detail": "Event not found. The event ID may be incorrect, or its age exceeded the "
            "retention period."
        },
    ),
    "release_unknown": Refusal("GET", f"{ORG}/releases/0.0.0-none/", 404, NOT_FOUND),
    "project_unknown": Refusal("GET", "/api/0/projects/acme/nope/", 404, NOT_FOUND),
    "create_release_without_fields": Refusal(
        "POST",
        f"{ORG}/releases/",
        400,
        {"version": ["This field is required."], "projects": ["This field is required."]},
        json={},
    ),
    "create_release_unknown_project": Refusal(
        "POST",
        f"{ORG}/releases/",
        400,
        {"projects": ["Invalid project ids or slugs"]},
        json={"version": "web@2.0", "projects": ["nope"]},
    ),
    "create_release_ref_without_commit": Refusal(
        "POST",
        f"{ORG}/releases/",
        400,
        {"refs": ["Each ref needs repository and commit."]},
        json={"version": "web@2.0", "projects": ["web"], "refs": [{"repository": "acme/web"}]},
    ),
}

# (method, path, scopes granted that do not cover it); the answer is always 403 FORBIDDEN.
SCOPE_RULES: dict[str, tuple[str, str, set[str]]] = {
    "list_issues_needs_event_read": ("GET", ISSUES, {"org:read", "project:read"}),
    "get_issue_needs_event_read": ("GET", ISSUE, {"org:read"}),
    "update_issue_needs_event_write": ("PUT", ISSUE, {"event:read"}),
    "bulk_update_needs_event_write": ("PUT", ISSUES + "?id={issue}", {"event:read"}),
    "delete_issue_needs_event_admin": ("DELETE", ISSUE, {"event:read", "event:write"}),
    "events_need_event_read": ("GET", f"{ORG}/issues/{{issue}}/events/latest/", {"org:read"}),
    "short_id_needs_event_read": ("GET", f"{ORG}/shortids/WEB-1/", {"org:read"}),
    "projects_need_org_read": ("GET", f"{ORG}/projects/", {"project:read"}),
    "project_needs_project_read": ("GET", "/api/0/projects/acme/web/", {"org:read"}),
    "releases_need_release_scope": ("GET", f"{ORG}/releases/", {"event:read"}),
    "create_release_needs_write": ("POST", f"{ORG}/releases/", {"project:read"}),
    "members_need_member_read": ("GET", f"{ORG}/members/", {"org:read"}),
    "teams_need_org_read": ("GET", f"{ORG}/teams/", {"team:read"}),
}


@dataclass(frozen=True)
class World:
    sentry: FakeSentry
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with FakeSentry(org="acme", token=TOKEN, clock=NOW.timestamp) as sentry:
        web = sentry.create_project("web")
        api = sentry.create_project("api")
        hidden = sentry.create_project("secret")
        sentry.hidden_projects.add("secret")
        issue = sentry.create_issue("web", "TypeError", first_seen=NOW - timedelta(hours=1))
        api_issue = sentry.create_issue("api", "KeyError", first_seen=NOW - timedelta(hours=1))
        sentry.create_release("web@1.0", ["web"], date_created=NOW - timedelta(days=1))
        sentry.add_member("ada@example.com", name="Ada")
        ids = {
            "web": str(web["id"]),
            "api": str(api["id"]),
            "hidden": str(hidden["id"]),
            "issue": str(issue["id"]),
            "api_issue": str(api_issue["id"]),
        }
        yield World(sentry, ids)


def send(world: World, rule: Refusal) -> httpx.Response:
    headers = {} if rule.auth is None else {"Authorization": rule.auth}
    params = [(k, v.format(**world.ids)) for k, v in rule.params]
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if rule.content is not None:
        kwargs["content"] = rule.content
        headers["Content-Type"] = "application/json"
    elif rule.json is not None:
        kwargs["json"] = rule.json
    path = rule.path.format(**world.ids)
    return httpx.request(rule.method, world.sentry.url + path, timeout=5, **kwargs)


@pytest.mark.parametrize("name", sorted(RULES))
def test_refusal(world: World, name: str) -> None:
    rule = RULES[name]
    before = world.sentry.issues()
    response = send(world, rule)
    assert response.status_code == rule.status, response.text
    if rule.body is not None:
        assert response.json() == rule.body
    assert world.sentry.issues() == before  # a refusal changes nothing


@pytest.mark.parametrize("name", sorted(SCOPE_RULES))
def test_missing_scope_is_forbidden(world: World, name: str) -> None:
    method, path, granted = SCOPE_RULES[name]
    saved = set(world.sentry.scopes)
    world.sentry.scopes = set(granted)
    try:
        response = httpx.request(
            method,
            world.sentry.url + path.format(**world.ids),
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"status": "resolved"} if method in ("PUT", "POST") else None,
            timeout=5,
        )
    finally:
        world.sentry.scopes = saved
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("project", "{web}")], ["TypeError"]),
        ([("project", "{web}"), ("project", "{api}")], ["KeyError", "TypeError"]),
        ([("project", "-1")], ["KeyError", "TypeError"]),
        ([], ["KeyError", "TypeError"]),
    ],
)
def test_numeric_project_ids_filter(
    world: World, params: list[tuple[str, str]], expected: list[str]
) -> None:
    response = send(world, Refusal("GET", ISSUES, 200, params=[("query", ""), *params]))
    assert response.status_code == 200
    assert sorted(issue["title"] for issue in response.json()) == expected


def test_limit_over_100_is_clamped_not_refused(world: World) -> None:
    response = send(world, Refusal("GET", ISSUES, 200, params=[("query", ""), ("limit", "500")]))
    assert response.status_code == 200
    next_link = response.headers["Link"].split(", ")[1]
    assert next_link.endswith(':100:0"')  # the next page starts after 100, Sentry's cap


def test_short_id_lookup_takes_only_1(world: World) -> None:
    short_id = world.sentry.issue(world.ids["issue"])["shortId"]
    hit = send(
        world, Refusal("GET", ISSUES, 200, params=[("query", short_id), ("shortIdLookup", "1")])
    )
    assert hit.headers.get("X-Sentry-Direct-Hit") == "1"
    searched = send(
        world, Refusal("GET", ISSUES, 200, params=[("query", short_id), ("shortIdLookup", "true")])
    )
    assert "X-Sentry-Direct-Hit" not in searched.headers


def test_an_environment_known_to_the_organization_is_searched(world: World) -> None:
    world.sentry.add_environment("staging")
    response = send(world, Refusal("GET", ISSUES, 200, params=[("environment", "staging")]))
    assert response.status_code == 200
    assert response.json() == []
