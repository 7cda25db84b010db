"""`SentryClient` against the fake Sentry on loopback: pagination, retries, errors, mutations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.card.state import revision as card_state_hash
from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.sentry.errors import (
    SentryBadRequest,
    SentryError,
    SentryForbidden,
    SentryNotFound,
    SentryProtocolError,
    SentryRateLimited,
    SentryServerError,
    SentryTransportError,
    SentryUnauthorized,
)
from bot.sentry.pagination import all_pages
from tests.fakes.sentry_server import FakeSentry

NOW = 1_760_000_000.0  # one frozen clock shared by the fake and the client
TOKEN = "sntryu_0123456789abcdef0123456789abcdef"


class RecordedSleep:
    """An injected `sleep` that returns at once and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN, clock=lambda: NOW) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


def make_client(
    sentry: FakeSentry,
    http: httpx.AsyncClient,
    sleep: RecordedSleep,
    *,
    token: str = TOKEN,
    **options: Any,
) -> SentryClient:
    return SentryClient(
        http,
        base_url=sentry.url,
        token=Secret(token),
        org="acme",
        sleep=sleep,
        clock=lambda: NOW,
        **options,
    )


@pytest.fixture
def client(sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep) -> SentryClient:
    return make_client(sentry, http, sleep)


# -- listing and pagination -----------------------------------------------------------------


async def test_issue_pages_are_followed_until_results_false(
    sentry: FakeSentry, client: SentryClient
) -> None:
    created = [sentry.create_issue("web", f"TypeError: boom {n}")["id"] for n in range(5)]

    async def page(cursor: str | None) -> Any:
        return await client.list_issues(query="is:unresolved", limit=2, cursor=cursor)

    issues = await all_pages(page)

    assert sorted(issue.id for issue in issues) == sorted(created)
    listed = sentry.requests_matching("GET", "/organizations/acme/issues/")
    assert len(listed) == 3
    assert [r.param("cursor") is None for r in listed] == [True, False, False]
    first = await client.list_issues(query="is:unresolved", limit=2)
    assert first.hits == 5
    assert first.next_cursor is not None


async def test_query_is_always_sent_so_the_server_default_never_applies(
    sentry: FakeSentry, client: SentryClient
) -> None:
    sentry.create_issue("web", "low priority", priority="low")
    sentry.create_issue("web", "already resolved", status="resolved")

    everything = await client.list_issues(query="")

    assert {i.title for i in everything.items} == {"low priority", "already resolved"}
    assert all(r.params("query") == [""] for r in sentry.requests)


async def test_search_filters_reach_the_server(sentry: FakeSentry, client: SentryClient) -> None:
    web = sentry.create_issue("web", "ValueError: bad", level="warning", environment="prod")
    api = sentry.create_issue("api", "KeyError: id", environment="staging")
    api_project = sentry.project("api")

    page = await client.list_issues(
        query="is:unresolved level:warning", environment="prod", sort="new"
    )
    by_project = await client.list_issues(query="", projects=[str(api_project.id)])

    assert [i.id for i in page.items] == [web["id"]]
    assert [i.id for i in by_project.items] == [api["id"]]
    request = sentry.requests_matching("GET", "/issues/")[0]
    assert request.params("sort") == ["new"]
    assert request.params("environment") == ["prod"]


async def test_tracked_issues_are_fetched_in_batches_of_100(
    sentry: FakeSentry, client: SentryClient
) -> None:
    ids = [sentry.create_issue("web", f"error {n}")["id"] for n in range(250)]

    issues = await client.get_issues_by_ids(ids)

    assert sorted(i.id for i in issues) == sorted(ids)
    batches = sentry.requests_matching("GET", "/organizations/acme/issues/")
    assert [len(r.params("group")) for r in batches] == [100, 100, 50]
    assert all(r.params("query") == [""] for r in batches)


async def test_card_states_ask_sentry_to_leave_counts_and_times_out(
    sentry: FakeSentry, client: SentryClient
) -> None:
    resolved = sentry.create_issue("web", "fixed", status="resolved")
    open_one = sentry.create_issue("web", "still failing")
    member = sentry.add_member("jane@example.com", name="Jane")
    sentry.assign(open_one["id"], f"user:{member['user']['id']}")

    states = {s.id: s for s in await client.get_issue_states([resolved["id"], open_one["id"]])}
    full = {i.id: i for i in await client.get_issues_by_ids([resolved["id"], open_one["id"]])}

    assert states[resolved["id"]].status == "resolved"
    assert {i: card_state_hash(s) for i, s in states.items()} == {
        i: card_state_hash(issue) for i, issue in full.items()
    }
    [light, whole] = sentry.requests_matching("GET", "/organizations/acme/issues/")
    assert light.params("collapse") == ["stats", "lifetime", "filtered", "unhandled"]
    assert whole.params("collapse") == []


async def test_projects_members_and_teams(sentry: FakeSentry, client: SentryClient) -> None:
    sentry.create_project("backend", platform="python")
    sentry.add_member("jane@example.com", name="Jane", extra_emails=["jane@old.example.com"])
    sentry.add_member("invited@example.com", pending=True)
    sentry.add_team("payments")

    projects = await client.list_projects()
    backend = await client.get_project("backend")
    teams = await client.list_teams(query="pay")
    members = await client.list_members()

    assert [p.slug for p in projects.items] == ["backend"]
    assert backend.platform == "python"
    assert [t.slug for t in teams.items] == ["payments"]
    assert [m.pending for m in members.items] == [False, True]


# -- single issues and events ---------------------------------------------------------------


async def test_short_ids_resolve_through_the_org_issue_route(
    sentry: FakeSentry, client: SentryClient
) -> None:
    for n in range(111):
        last = sentry.create_issue("web", f"error {n}")
    assert last["shortId"] == "WEB-3F"  # 111 in Sentry's base32

    by_short_id = await client.get_issue("WEB-3F")
    by_id = await client.get_issue(last["id"])

    assert by_short_id.id == by_id.id == last["id"]
    assert sentry.requests[0].path == "/api/0/organizations/acme/issues/WEB-3F/"


async def test_events_of_an_issue(sentry: FakeSentry, client: SentryClient) -> None:
    issue = sentry.create_issue("web", "ZeroDivisionError: division by zero", culprit="calc in div")
    sentry.add_event(issue["id"], environment="staging")

    latest = await client.latest_event(issue["id"])
    listed = await client.list_issue_events(issue["id"])
    full = await client.list_issue_events(issue["id"], full=True)

    assert latest.environment == "staging"
    assert latest.exceptions[0].type == "ZeroDivisionError"
    assert latest.exceptions[0].frames[-1].function == "div"
    assert listed.items[0].event_id == latest.event_id
    assert len(listed.items) == 2
    assert listed.items[0].exceptions == ()
    assert full.items[0].exceptions != ()
    assert sentry.issue(issue["id"])["count"] == "2"


async def test_delete_then_the_issue_is_gone(sentry: FakeSentry, client: SentryClient) -> None:
    issue = sentry.create_issue("web", "doomed")

    await client.delete_issue(issue["id"])

    with pytest.raises(SentryNotFound):
        await client.get_issue(issue["id"])
    assert sentry.requests_matching("DELETE")[0].status == 202


# -- mutations ------------------------------------------------------------------------------


async def test_update_issue_follows_sentry_semantics(
    sentry: FakeSentry, client: SentryClient
) -> None:
    issue = sentry.create_issue("web", "flaky")
    member = sentry.add_member("jane@example.com", name="Jane")

    ignored = await client.update_issue(
        issue["id"], {"status": "ignored", "statusDetails": {"ignoreDuration": 30}}
    )
    assigned = await client.update_issue(issue["id"], {"assignedTo": "jane@example.com"})
    unassigned = await client.update_issue(issue["id"], {"assignedTo": ""})
    resolved = await client.update_issue(issue["id"], {"status": "resolvedInNextRelease"})

    assert (ignored.status, ignored.substatus) == ("ignored", "archived_until_condition_met")
    assert ignored.status_details["ignoreUntil"] == "2025-10-09T09:23:20.000000Z"
    assert assigned.assigned_to is not None
    assert assigned.assigned_to.actor_id == f"user:{member['user']['id']}"
    assert unassigned.assigned_to is None
    assert (resolved.status, resolved.substatus) == ("resolved", None)
    assert resolved.status_details == {"inNextRelease": True}
    assert sentry.violations == []


async def test_bad_request_carries_field_errors(sentry: FakeSentry, client: SentryClient) -> None:
    issue = sentry.create_issue("web", "no releases yet")

    with pytest.raises(SentryBadRequest) as caught:
        await client.update_issue(
            issue["id"], {"status": "resolved", "statusDetails": {"inNextRelease": True}}
        )

    assert "inNextRelease" in caught.value.field_errors["statusDetails"]
    assert "No release data present" in str(caught.value)
    assert sentry.issue(issue["id"])["status"] == "unresolved"


async def test_null_assignee_is_refused_before_sending(
    sentry: FakeSentry, client: SentryClient
) -> None:
    issue = sentry.create_issue("web", "x")

    with pytest.raises(ValueError, match="unassign"):
        await client.update_issue(issue["id"], {"assignedTo": None})
    assert sentry.requests == []


async def test_bulk_update_sends_explicit_ids(sentry: FakeSentry, client: SentryClient) -> None:
    first = sentry.create_issue("web", "one")
    second = sentry.create_issue("web", "two")
    untouched = sentry.create_issue("web", "three")

    delta = await client.bulk_update([first["id"], second["id"]], {"status": "resolved"})

    assert delta["status"] == "resolved"
    [request] = sentry.requests_matching("PUT")
    assert request.params("id") == [first["id"], second["id"]]
    assert request.json == {"status": "resolved"}
    assert sentry.issue(first["id"])["status"] == "resolved"
    assert sentry.issue(second["id"])["status"] == "resolved"
    assert sentry.issue(untouched["id"])["status"] == "unresolved"
    assert sentry.violations == []


async def test_bulk_update_with_no_match_is_an_empty_delta(
    sentry: FakeSentry, client: SentryClient
) -> None:
    assert await client.bulk_update(["999"], {"status": "resolved"}) == {}


@pytest.mark.parametrize("ids", [[], ["WEB-1"], ["12", "abc"]])
async def test_bulk_update_refuses_missing_or_non_integer_ids(
    sentry: FakeSentry, client: SentryClient, ids: list[str]
) -> None:
    with pytest.raises(ValueError, match="id"):
        await client.bulk_update(ids, {"status": "resolved"})
    assert sentry.requests == []


async def test_releases_create_get_and_list(sentry: FakeSentry, client: SentryClient) -> None:
    sentry.create_project("web")

    release, created = await client.create_release(
        version="web@1.2.3+rc 1", projects=["web"], refs=[("acme/web", "abc123")]
    )
    again, created_again = await client.create_release(version="web@1.2.3+rc 1", projects=["web"])
    fetched = await client.get_release("web@1.2.3+rc 1")
    listed = await client.list_releases(query="1.2")

    assert (created, created_again) == (True, False)
    assert release.version == again.version == fetched.version == "web@1.2.3+rc 1"
    assert release.commit_count == 1
    assert [r.version for r in listed.items] == ["web@1.2.3+rc 1"]
    get = sentry.requests_matching("GET", "/releases/web")[0]
    assert get.path == "/api/0/organizations/acme/releases/web%401.2.3%2Brc%201/"
    assert sentry.requests_matching("POST")[0].json["refs"] == [
        {"repository": "acme/web", "commit": "abc123"}
    ]


# -- retries --------------------------------------------------------------------------------


async def test_rate_limit_waits_until_the_reset_header(
    sentry: FakeSentry, client: SentryClient, sleep: RecordedSleep
) -> None:
    sentry.create_issue("web", "x")
    sentry.fail_next(1, status=429, reset_in=7)

    page = await client.list_issues(query="")

    assert len(page.items) == 1
    assert sleep.waits == [7.0]
    assert [r.status for r in sentry.requests] == [429, 200]


async def test_rate_limit_wait_is_capped(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, max_wait=5.0)
    sentry.fail_next(1, status=429, reset_in=3600)

    await client.list_issues(query="")

    assert sleep.waits == [5.0]


async def test_rate_limit_without_headers_backs_off_exponentially(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, backoff_base=1.0, max_attempts=4)
    sentry.fail_next(3, status=429, rate_limit_headers=False)

    await client.list_issues(query="")

    assert len(sleep.waits) == 3
    for attempt, wait in enumerate(sleep.waits):
        ceiling = 1.0 * 2**attempt
        assert ceiling / 2 <= wait <= ceiling


async def test_rate_limit_exhausted_raises_with_retry_after(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, max_attempts=2)
    sentry.fail_next(5, status=429, reset_in=4)

    with pytest.raises(SentryRateLimited) as caught:
        await client.list_issues(query="")

    assert caught.value.retry_after == 4.0
    assert "too frequently" in caught.value.detail
    assert "try again in 4 s" in str(caught.value)
    assert sentry.count() == 2


async def test_server_errors_are_retried_then_succeed(
    sentry: FakeSentry, client: SentryClient, sleep: RecordedSleep
) -> None:
    issue = sentry.create_issue("web", "x")
    sentry.fail_next(2, status=503, path_contains="/issues/")

    fetched = await client.get_issue(issue["id"])

    assert fetched.id == issue["id"]
    assert [r.status for r in sentry.requests] == [503, 503, 200]
    assert len(sleep.waits) == 2


async def test_retries_are_bounded(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, max_attempts=3)
    sentry.fail_next(10, status=500)

    with pytest.raises(SentryServerError) as caught:
        await client.list_issues(query="")

    assert caught.value.status == 500
    assert sentry.count() == 3
    assert len(sleep.waits) == 2


async def test_dropped_connections_are_retried(
    sentry: FakeSentry, client: SentryClient, sleep: RecordedSleep
) -> None:
    sentry.create_issue("web", "x")
    sentry.drop_next(1)

    page = await client.list_issues(query="")

    assert len(page.items) == 1
    assert sentry.count() == 2


async def test_persistent_drops_become_a_transport_error(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, max_attempts=2)
    sentry.drop_next(5)

    with pytest.raises(SentryTransportError) as caught:
        await client.list_issues(query="")

    assert str(caught.value).startswith("Could not reach Sentry")
    assert sentry.count() == 2


async def test_timeouts_become_a_transport_error(sentry: FakeSentry, sleep: RecordedSleep) -> None:
    sentry.slow_next(5, 5.0)
    async with httpx.AsyncClient(timeout=0.2) as quick:
        client = make_client(sentry, quick, sleep, max_attempts=2)
        with pytest.raises(SentryTransportError, match="Timeout"):
            await client.list_issues(query="")
    assert sentry.count() == 2


async def test_release_creation_is_not_replayed_after_a_lost_answer(
    sentry: FakeSentry, client: SentryClient
) -> None:
    sentry.create_project("web")
    sentry.drop_next(1, path_contains="/releases/")

    with pytest.raises(SentryTransportError):
        await client.create_release(version="1.0", projects=["web"])

    assert sentry.count("POST") == 1


async def test_release_creation_is_retried_after_a_rate_limit(
    sentry: FakeSentry, client: SentryClient, sleep: RecordedSleep
) -> None:
    sentry.create_project("web")
    sentry.fail_next(1, status=429, reset_in=2, path_contains="/releases/")

    _, created = await client.create_release(version="1.0", projects=["web"])

    assert created
    assert sentry.count("POST") == 2
    assert sleep.waits == [2.0]


async def test_malformed_json_is_a_protocol_error(sentry: FakeSentry, client: SentryClient) -> None:
    sentry.malformed_next(1)

    with pytest.raises(SentryProtocolError):
        await client.list_issues(query="")


# -- auth and not found ---------------------------------------------------------------------


async def test_invalid_token_names_the_scope(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, token="sntryu_wrong")

    with pytest.raises(SentryUnauthorized) as caught:
        await client.list_issues(query="")

    assert caught.value.status == 401
    assert "event:read" in str(caught.value)


async def test_missing_scope_is_named(sentry: FakeSentry, client: SentryClient) -> None:
    issue = sentry.create_issue("web", "x")
    sentry.scopes = {"event:read"}

    with pytest.raises(SentryForbidden) as caught:
        await client.update_issue(issue["id"], {"status": "resolved"})
    with pytest.raises(SentryForbidden) as delete_caught:
        await client.delete_issue(issue["id"])

    assert str(caught.value) == "Sentry refused: the token lacks the event:write scope"
    assert caught.value.required_scope == "event:write"
    assert delete_caught.value.required_scope == "event:admin"


async def test_not_found_names_the_issue(sentry: FakeSentry, client: SentryClient) -> None:
    with pytest.raises(SentryNotFound) as caught:
        await client.get_issue("WEB-3F")
    with pytest.raises(SentryNotFound) as project_caught:
        await client.get_project("nope")

    assert caught.value.resource == "issue WEB-3F"
    assert "issue WEB-3F" in str(caught.value)
    assert "project nope" in str(project_caught.value)


async def test_the_token_never_appears_in_errors(
    sentry: FakeSentry, http: httpx.AsyncClient, sleep: RecordedSleep
) -> None:
    client = make_client(sentry, http, sleep, max_attempts=1)
    errors: list[SentryError] = []
    faults: list[Callable[[], None]] = [
        lambda: sentry.fail_next(1, status=500),
        lambda: sentry.fail_next(1, status=429),
        lambda: sentry.drop_next(1),
        lambda: sentry.malformed_next(1),
        lambda: None,  # nothing injected: WEB-1 does not exist, a 404
    ]
    for fault in faults:
        fault()
        with pytest.raises(SentryError) as caught:
            await client.get_issue("WEB-1")
        errors.append(caught.value)

    assert len({type(e) for e in errors}) == 5
    assert TOKEN not in repr(client)
    for error in errors:
        for text in (str(error), repr(error), error.detail, error.path, repr(vars(error))):
            assert TOKEN not in text


# -- the fake's own contract checks ---------------------------------------------------------


async def test_fake_refuses_bulk_updates_without_ids_and_invalid_bodies(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    issue = sentry.create_issue("web", "x")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    base = f"{sentry.url}/api/0/organizations/acme/issues/"

    unbounded = await http.put(base, json={"status": "resolved"}, headers=headers)
    bogus = await http.put(f"{base}{issue['id']}/", json={"status": "bogus"}, headers=headers)
    null = await http.put(f"{base}{issue['id']}/", json={"assignedTo": None}, headers=headers)

    assert unbounded.status_code == 400
    assert bogus.status_code == 400
    assert "status" in bogus.json()
    assert null.json() == {"assignedTo": ["This field may not be null."]}
    assert len(sentry.violations) == 3
    assert sentry.issue(issue["id"])["status"] == "unresolved"


async def test_fake_link_header_has_sentrys_exact_shape(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.add_member("a@example.com")
    sentry.add_member("b@example.com")
    response = await http.get(
        f"{sentry.url}/api/0/organizations/acme/members/",
        params={"per_page": "1"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    base = f"{sentry.url}/api/0/organizations/acme/members/?per_page=1"

    assert response.headers["Link"] == (
        f'<{base}&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{base}&cursor=0:1:0>; rel="next"; results="true"; cursor="0:1:0"'
    )
    too_big = await http.get(
        f"{sentry.url}/api/0/organizations/acme/members/",
        params={"per_page": "101"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert too_big.json() == {"detail": "Invalid per_page value. Cannot exceed 100."}


async def test_fake_applies_sentrys_default_query_when_none_is_sent(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.create_issue("web", "high")
    sentry.create_issue("web", "low", priority="low")
    response = await http.get(
        f"{sentry.url}/api/0/organizations/acme/issues/",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert [issue["title"] for issue in response.json()] == ["high"]


async def test_fake_wait_for_is_woken_by_requests(sentry: FakeSentry, client: SentryClient) -> None:
    issue = sentry.create_issue("web", "x")
    await client.update_issue(issue["id"], {"status": "resolved"})

    await sentry.until(lambda: sentry.count("PUT") == 1, timeout=1.0)
    with pytest.raises(TimeoutError):
        sentry.wait_for(lambda: sentry.count("PUT") == 2, timeout=0.05)


async def test_fake_search_syntax_subset(sentry: FakeSentry, client: SentryClient) -> None:
    sentry.add_member("jane@example.com")
    team = sentry.add_team("payments")
    old = sentry.create_issue(
        "web", "old timeout", first_seen=datetime(2024, 1, 1, tzinfo=UTC), release="1.0"
    )
    new = sentry.create_issue("web", "Card declined", culprit="billing in charge")
    sentry.assign(old["id"], "jane@example.com")
    sentry.assign(new["id"], f"team:{team['id']}")

    async def titles(query: str) -> set[str]:
        return {i.title for i in (await client.list_issues(query=query)).items}

    assert await titles("firstSeen:>2024-06-01T00:00:00") == {"Card declined"}
    assert await titles("firstSeen:<=2024-01-01T00:00:00Z") == {"old timeout"}
    assert await titles("assigned:jane@example.com") == {"old timeout"}
    assert await titles("assigned:#payments") == {"Card declined"}
    assert await titles('"card declined" is:assigned') == {"Card declined"}
    assert await titles("billing") == {"Card declined"}
    assert await titles("release:1.0 level:error") == {"old timeout"}
    assert await titles("is:unassigned") == set()
    with pytest.raises(SentryBadRequest, match="Error parsing search query"):
        await titles('"unclosed')


async def test_fake_ui_helpers_change_what_the_client_sees(
    sentry: FakeSentry, client: SentryClient
) -> None:
    issue = sentry.create_issue("web", "x")

    sentry.set_issue_status(issue["id"], "ignored")
    ignored = await client.get_issue(issue["id"])
    sentry.regress(issue["id"])
    regressed = await client.get_issue(issue["id"])

    assert (ignored.status, ignored.substatus) == ("ignored", "archived_until_escalating")
    assert (regressed.status, regressed.substatus) == ("unresolved", "regressed")
    assert regressed.count == 2
