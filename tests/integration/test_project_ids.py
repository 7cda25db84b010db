"""Project filters reach Sentry as numeric ids, mapped from slugs through the projects list."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.sentry.project_ids import UnknownProject
from tests.fakes.sentry_server import FakeSentry

TOKEN = "sntryu_projectids0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN) as fake:
        for slug in ("web", "api", "pump-station"):
            fake.create_project(slug)
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(sentry: FakeSentry, http: httpx.AsyncClient, clock: Clock) -> SentryClient:
    return SentryClient(http, base_url=sentry.url, token=Secret(TOKEN), org="acme", clock=clock)


def project_list_reads(sentry: FakeSentry) -> int:
    return sentry.count("GET", "/organizations/acme/projects/")


async def test_slugs_become_the_ids_sentry_filters_by(
    client: SentryClient, sentry: FakeSentry
) -> None:
    ids = await client.project_ids(["web", "pump-station", "web"])
    assert ids == [str(sentry.project("web").id), str(sentry.project("pump-station").id)]
    sentry.create_issue("web", "Web breaks")
    sentry.create_issue("api", "Api breaks")
    page = await client.list_issues(query="", projects=ids)
    assert [issue.title for issue in page.items] == ["Web breaks"]
    [search] = sentry.requests_matching("GET", "/organizations/acme/issues/")
    assert search.params("project") == ids


async def test_the_map_is_read_once_and_again_after_its_ttl(
    client: SentryClient, sentry: FakeSentry, clock: Clock
) -> None:
    await client.project_ids(["web"])
    await client.project_ids(["api", "web"])
    assert project_list_reads(sentry) == 1
    clock.now += 601
    await client.project_ids(["web"])
    assert project_list_reads(sentry) == 2


async def test_a_new_project_is_found_without_waiting_for_the_ttl(
    client: SentryClient, sentry: FakeSentry, clock: Clock
) -> None:
    await client.project_ids(["web"])
    sentry.create_project("mobile")
    clock.now += 61
    assert await client.project_ids(["mobile"]) == [str(sentry.project("mobile").id)]
    assert project_list_reads(sentry) == 2


async def test_an_unknown_slug_is_named_with_close_matches_and_rereads_at_most_once_a_minute(
    client: SentryClient, sentry: FakeSentry, clock: Clock
) -> None:
    with pytest.raises(UnknownProject) as caught:
        await client.project_ids(["web", "pmp-station"])
    assert str(caught.value) == (
        "Sentry has no project 'pmp-station' in acme; did you mean pump-station?"
    )
    for _ in range(3):
        with pytest.raises(UnknownProject):
            await client.project_ids(["pmp-station"])
    assert project_list_reads(sentry) == 1
    clock.now += 61
    with pytest.raises(UnknownProject):
        await client.project_ids(["pmp-station"])
    assert project_list_reads(sentry) == 2


async def test_no_slugs_means_no_request(client: SentryClient, sentry: FakeSentry) -> None:
    assert await client.project_ids([]) == []
    assert sentry.requests == []


@given(
    slug=st.from_regex(r"[a-z][a-z0-9_-]{0,30}", fullmatch=True)
    | st.text(min_size=1).filter(lambda t: not t.strip().isdigit() and t.strip() != "-1")
)
async def test_a_project_filter_that_is_not_an_id_never_leaves_the_client(slug: str) -> None:
    """Whatever a caller passes that is not a numeric id is refused before any request: Sentry
    would answer 400 (`Invalid project parameter. Values must be numbers.`)."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        client = SentryClient(http, base_url="http://sentry.invalid", token=Secret(TOKEN), org="o")
        with pytest.raises(ValueError, match="numeric ids"):
            await client.list_issues(query="", projects=[slug])
        with pytest.raises(ValueError, match="numeric ids"):
            await client.list_releases(project=slug)
    assert sent == []
