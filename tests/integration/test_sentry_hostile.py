"""`SentryClient` against a fake Sentry serving hostile answers: only typed errors, bounded cost.

Every Sentry response shape the bot reads is fed arbitrary JSON (missing fields, wrong types,
nulls, huge and deep values, Unicode edge cases): the client returns typed models or raises a
`SentryError`, and never sends a request outside the allowed endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.secret import Secret
from bot.sentry import bounds
from bot.sentry.body import BodyLimits
from bot.sentry.client import SentryClient
from bot.sentry.errors import (
    SentryDeadlineExceeded,
    SentryError,
    SentryResponseTooLarge,
)
from bot.sentry.ids import MAX_BIGINT, InvalidId, IssueId
from bot.sentry.models import Issue
from tests.fakes.sentry_hostile import HOSTILE_CLASSES, hostile_issue, issue_template
from tests.fakes.sentry_server import FakeSentry

TOKEN = "sntryu_0123456789abcdef0123456789abcdef"

# Every path the bot may request, by method (Sentry's routes the client implements).
ALLOWED = {
    "GET": re.compile(
        r"/api/0/(organizations/acme/(|projects/|issues/|issues/[0-9]+/|issues/[0-9]+/events/"
        r"|issues/[A-Z0-9_]+(-[A-Z0-9_]+)+/(events/|events/latest/)?"
        r"|issues/[0-9]+/events/latest/|shortids/[A-Z0-9_%-]+/|releases/|releases/(?!\.\.?/)[^/]+/"
        r"|members/|teams/)|projects/acme/[a-z0-9_-]+/(|issues/|events/))"
    ),
    "PUT": re.compile(r"/api/0/organizations/acme/issues/([0-9]+/)?"),
    "DELETE": re.compile(r"/api/0/organizations/acme/issues/[0-9]+/"),
    "POST": re.compile(r"/api/0/organizations/acme/releases/"),
}


# The fake answers over plain HTTP; one TLS context for every client the property tests open,
# rather than loading the CA bundle again for each generated example.
TLS = ssl.create_default_context()


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5.0, verify=TLS)


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN) as fake:
        fake.create_project("web")
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client() as client:
        yield client


def make_client(sentry: FakeSentry, http: httpx.AsyncClient, **options: Any) -> SentryClient:
    return SentryClient(
        http,
        base_url=sentry.url,
        token=Secret(TOKEN),
        org="acme",
        sleep=no_sleep,
        **{"max_attempts": 1, **options},
    )


def assert_allowed(sentry: FakeSentry) -> None:
    for request in sentry.requests:
        pattern = ALLOWED.get(request.method)
        assert pattern is not None, request.method
        assert pattern.fullmatch(request.path), request.path
        if request.method in ("PUT", "DELETE") and request.path.endswith("/issues/"):
            assert request.params("id"), "a bulk write without explicit ids"


def assert_storable(issue: Issue, web_base: str) -> None:
    """What the store and Slack need of every issue the client returns."""
    assert isinstance(issue.id, IssueId)
    for text in (issue.title, issue.culprit, issue.short_id, issue.status, issue.permalink):
        text.encode("utf-8")
        assert "\x00" not in text
    assert len(issue.status) <= 32
    assert len(issue.substatus or "") <= 40
    assert 0 <= issue.count <= MAX_BIGINT
    assert 0 <= issue.user_count <= MAX_BIGINT
    assert bounds.EARLIEST <= issue.first_seen <= bounds.LATEST
    assert bounds.EARLIEST <= issue.last_seen <= bounds.LATEST
    assert issue.permalink.startswith(web_base + "/")
    json.dumps([issue.status_details, issue.metadata]).encode("utf-8")


# -- hostile JSON --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["", ".", "..", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "\ud800x"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HUGE = "9" * 5000
DEEP = '{"a": ' * 5000 + "1" + "}" * 5000


def spoil(template: dict[str, Any], draw: st.DrawFn) -> str:
    """The template with some fields replaced, removed, made huge or deep; as raw JSON text."""
    body = dict(template)
    keys = draw(st.lists(st.sampled_from(sorted(template)), max_size=6, unique=True))
    raw: dict[str, str] = {}
    for key in keys:
        action = draw(st.sampled_from(["value", "remove", "huge", "deep"]))
        if action == "remove":
            del body[key]
        elif action == "value":
            body[key] = draw(json_values)
        else:
            body[key] = f"__RAW_{key}__"
            raw[json.dumps(f"__RAW_{key}__")] = HUGE if action == "huge" else DEEP
    text = json.dumps(body)
    for placeholder, value in raw.items():
        text = text.replace(placeholder, value)
    return text


@st.composite
def hostile_text(draw: st.DrawFn, template: dict[str, Any], as_list: bool) -> str:
    item = spoil(template, draw)
    if not as_list:
        return item
    good = json.dumps(template)
    extra = draw(st.sampled_from(["", "null", '"x"', "[]", DEEP]))
    return "[" + ", ".join(p for p in (good, item, extra) if p) + "]"


ISSUE = issue_template(org="acme", web_url="https://sentry.example", project="web", issue_id=42)
EVENT = json.loads(
    '{"id": "e1", "eventID": "e1", "title": "t", "message": "m", "dateCreated": '
    '"2026-01-01T00:00:00Z", "tags": [{"key": "environment", "value": "prod"}], "entries": '
    '[{"type": "exception", "data": {"values": [{"type": "E", "value": "v", "stacktrace": '
    '{"frames": [{"filename": "a.py", "function": "f", "lineNo": 3, "inApp": true}]}}]}}]}'
)
MEMBER = {
    "id": "7",
    "email": "a@example.com",
    "name": "A",
    "orgRole": "member",
    "pending": False,
    "user": {"id": "8", "emails": [{"email": "a@example.com"}]},
}
TEAM = {"id": "3", "slug": "core", "name": "Core"}
PROJECT = {"id": "2", "slug": "web", "name": "Web", "platform": "python", "teams": [TEAM]}
RELEASE = {"version": "web@1.0", "shortVersion": "1.0", "dateCreated": "2026-01-01T00:00:00Z"}
ORGANIZATION = {"id": "1", "slug": "acme", "name": "Acme", "links": {"organizationUrl": "x"}}

Call = Callable[[SentryClient], Awaitable[object]]
SHAPES: list[tuple[str, dict[str, Any], bool, Call]] = [
    ("issue list", ISSUE, True, lambda c: c.list_issues(query="")),
    ("issue by ids", ISSUE, True, lambda c: c.get_issues_by_ids(["42"])),
    ("issue", ISSUE, False, lambda c: c.get_issue("42")),
    ("event", EVENT, False, lambda c: c.latest_event("42")),
    ("event list", EVENT, True, lambda c: c.list_issue_events("42", full=True)),
    ("member list", MEMBER, True, lambda c: c.list_members()),
    ("team list", TEAM, True, lambda c: c.list_teams()),
    ("project", PROJECT, False, lambda c: c.get_project("web")),
    ("project list", PROJECT, True, lambda c: c.list_projects()),
    ("release", RELEASE, False, lambda c: c.get_release("web@1.0")),
    ("release list", RELEASE, True, lambda c: c.list_releases()),
    ("organization", ORGANIZATION, False, lambda c: c.get_organization()),
]


@pytest.mark.parametrize(
    ("template", "as_list", "call"),
    [shape[1:] for shape in SHAPES],
    ids=[shape[0] for shape in SHAPES],
)
def test_any_answer_gives_models_or_a_typed_error(
    sentry: FakeSentry, template: dict[str, Any], as_list: bool, call: Call
) -> None:
    @given(text=hostile_text(template, as_list))
    def check(text: str) -> None:
        async def run() -> None:
            async with http_client() as http:
                client = make_client(sentry, http)
                sentry.clear_requests()
                sentry.raw_next(1, text)
                try:
                    result = await call(client)
                except SentryError:
                    return
                finally:
                    assert_allowed(sentry)
                items = getattr(result, "items", result)
                for item in items if isinstance(items, list | tuple) else [items]:
                    if isinstance(item, Issue):
                        assert_storable(item, sentry.url)

        asyncio.run(run())

    check()


# -- one bad issue among good ones --------------------------------------------------------


@pytest.mark.parametrize("kind", HOSTILE_CLASSES)
async def test_a_hostile_issue_never_costs_the_others(
    sentry: FakeSentry, http: httpx.AsyncClient, kind: str
) -> None:
    good = sentry.create_issue("web", f"Good neighbour of {kind}")
    template = issue_template(org="acme", web_url=sentry.url, project="web", issue_id=900_001)
    sentry.serve_raw_issue(hostile_issue(kind, template))
    client = make_client(sentry, http)
    try:
        page = await client.list_issues(query="")
        again = await client.list_issues(query="")
    finally:
        sentry.clear_raw_issues()
    ids = [issue.id for issue in page.items]
    assert good["id"] in ids
    for issue in page.items:
        assert_storable(issue, sentry.url)
    if kind == "non_numeric_id":
        assert "900001" not in ids
        assert [s.reason for s in page.skipped] == ["no numeric id"]
        assert client.health.skipped == 2  # counted on every page, logged once
    else:
        [hostile] = [issue for issue in page.items if issue.id == "900001"]
        assert "evil.example" not in hostile.permalink
        assert page.skipped == again.skipped == ()


async def test_deep_metadata_is_read_without_its_deep_part(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    template = issue_template(org="acme", web_url=sentry.url, project="web", issue_id=900_002)
    sentry.raw_next(1, hostile_issue("deep_metadata", template))
    issue = await make_client(sentry, http).get_issue("900002")
    assert issue.id == "900002"
    assert json.dumps(issue.metadata).count("{") <= bounds.MAX_JSON_DEPTH


# -- time and size ----------------------------------------------------------------------------


async def test_a_dripping_answer_hits_the_whole_request_deadline(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.create_issue("web", "Dripped")
    sentry.clear_requests()
    sentry.drip_next(1, interval=0.05, path_contains="/issues/")
    client = make_client(sentry, http, deadline=0.5, max_attempts=3)
    with pytest.raises(SentryDeadlineExceeded, match="did not answer within"):
        await client.list_issues(query="")
    assert sentry.count("GET", "/issues/") == 1  # a deadline is not retried
    assert client.health.deadline_hits == 1


async def test_a_gzip_bomb_stops_at_the_inflated_cap(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.gzip_bomb_next(1, inflated_bytes=64 << 20, path_contains="/issues/")
    client = make_client(sentry, http, limits=BodyLimits(max_body_bytes=4 << 20))
    with pytest.raises(SentryResponseTooLarge, match="inflated over 4194304 bytes"):
        await client.list_issues(query="")
    assert client.health.too_large == 1


async def test_a_large_compressed_answer_stops_at_the_wire_cap(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.gzip_bomb_next(1, inflated_bytes=64 << 20, path_contains="/issues/")
    client = make_client(sentry, http, limits=BodyLimits(max_wire_bytes=1024))
    with pytest.raises(SentryResponseTooLarge, match="compressed over 1024 bytes"):
        await client.list_issues(query="")


async def test_a_gzip_answer_within_the_caps_is_read(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.gzip_bomb_next(1, inflated_bytes=1 << 20, path_contains="/issues/")
    page = await make_client(sentry, http, limits=BodyLimits(thread_above=1024)).list_issues(
        query=""
    )
    assert page.items == ()


# -- paths and writes ---------------------------------------------------------------------------

refs = st.one_of(
    st.sampled_from([".", "..", "", " ", "1/..", "%2e%2e", "9" * 40, "0", "-1", "1 2", "WEB-1"]),
    st.text(max_size=20),
)


@given(ref=refs)
def test_no_identifier_reaches_a_path_it_should_not(sentry: FakeSentry, ref: str) -> None:
    sentry.clear_requests()

    async def run() -> None:
        async with http_client() as http:
            client = make_client(sentry, http)
            calls: list[Call] = [
                lambda c: c.get_issue(ref),
                lambda c: c.latest_event(ref),
                lambda c: c.list_issue_events(ref),
                lambda c: c.update_issue(IssueId(ref), {"status": "resolved"}),
                lambda c: c.delete_issue(IssueId(ref)),
                lambda c: c.bulk_update([IssueId(ref)], {"status": "resolved"}),
                lambda c: c.get_release(ref),
                lambda c: c.get_project(ref),
            ]
            for call in calls:
                with contextlib.suppress(InvalidId, SentryError):
                    await call(client)
            assert_allowed(sentry)

    asyncio.run(run())


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.bulk_update([], {"status": "resolved"}),
        lambda c: c.update_issue(".", {"status": "resolved"}),
        lambda c: c.update_issue("..", {"status": "resolved"}),
        lambda c: c.delete_issue("9" * 40),
        lambda c: c.bulk_update(".", {"status": "resolved"}),
    ],
)
async def test_a_write_without_explicit_ids_is_impossible(
    sentry: FakeSentry, http: httpx.AsyncClient, call: Call
) -> None:
    sentry.clear_requests()
    with pytest.raises((ValueError, TypeError)):
        await call(make_client(sentry, http))
    assert sentry.requests == []


def test_times_from_sentry_are_clamped() -> None:
    template = dict(ISSUE, firstSeen="9999-12-31T23:59:59-14:00", lastSeen="0001-01-01T00:00Z")
    issue = Issue.from_api(template, web_base="https://sentry.example", org="acme")
    assert issue.first_seen == bounds.LATEST
    assert issue.last_seen == bounds.EARLIEST
    assert issue.first_seen.tzinfo == UTC
    assert datetime(2026, 1, 1, tzinfo=UTC) < bounds.LATEST


async def test_the_organization_url_becomes_a_trusted_link_host(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    client = make_client(sentry, http)
    template = issue_template(org="acme", web_url=sentry.url, project="web", issue_id=900_003)
    on_org_host = "https://acme.example.org/issues/900003/"
    sentry.raw_next(1, json.dumps(dict(template, permalink=on_org_host)))
    assert (await client.get_issue("900003")).permalink != on_org_host

    organization = await client.get_organization()
    assert (organization.slug, organization.organization_url) == ("acme", sentry.url)
    sentry.raw_next(
        1, json.dumps({"slug": "acme", "links": {"organizationUrl": "https://acme.example.org"}})
    )
    await client.get_organization()
    sentry.raw_next(1, json.dumps(dict(template, permalink=on_org_host)))
    assert (await client.get_issue("900003")).permalink == on_org_host


@given(body=json_values)
def test_any_error_body_gives_a_typed_error_with_clean_text(sentry: FakeSentry, body: Any) -> None:
    async def run() -> None:
        async with http_client() as http:
            client = make_client(sentry, http)
            sentry.raw_error_next(400, json.dumps(body))
            with pytest.raises(SentryError) as caught:
                await client.get_issue("42")
            str(caught.value).encode("utf-8")
            caught.value.detail.encode("utf-8")

    asyncio.run(run())
