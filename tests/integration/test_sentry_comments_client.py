"""`SentryClient`'s comment calls against the fake Sentry: typed answers, the duplicate guard
recognised in both of its body shapes, and every issue's comment count read with its state."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.sentry.errors import ALREADY_POSTED, SentryBadRequest, SentryForbidden, already_posted
from bot.sentry.ids import IssueId
from tests.fakes.sentry_server import FakeSentry

TOKEN = "sntryu_0123456789abcdef0123456789abcdef"


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN) as fake:
        fake.add_member("bo@example.com", name="Bo Berg")
        yield fake


@pytest.fixture
async def client(sentry: FakeSentry) -> AsyncIterator[SentryClient]:
    async with httpx.AsyncClient(timeout=2.0) as http:
        yield SentryClient(http, base_url=sentry.url, token=Secret(TOKEN), org="acme")


async def test_add_and_list_comments(sentry: FakeSentry, client: SentryClient) -> None:
    issue = IssueId(sentry.create_issue("web", "TypeError: x")["id"])
    mine = await client.add_comment(issue, "Resolved in Slack by Ana")
    assert mine.author_id == sentry.token_user["id"]
    assert mine.text == "Resolved in Slack by Ana"
    sentry.add_comment(issue, "on it", by="bo@example.com")
    page = await client.list_comments(issue)
    assert [(c.author_name, c.text) for c in page.items] == [
        ("Bo Berg", "on it"),
        ("Sentry Triage", "Resolved in Slack by Ana"),
    ]
    assert page.items[0].id > page.items[1].id
    [state] = await client.get_issue_states([issue])
    assert state.num_comments == 2
    assert (await client.get_issue(issue)).num_comments == 2


async def test_the_duplicate_guard_is_recognised(sentry: FakeSentry, client: SentryClient) -> None:
    issue = IssueId(sentry.create_issue("web", "TypeError: x")["id"])
    await client.add_comment(issue, "same words")
    with pytest.raises(SentryBadRequest) as caught:
        await client.add_comment(issue, "same words")
    assert already_posted(caught.value)
    # Older Sentry versions send the same text as a bare JSON string.
    sentry.raw_error_next(400, json.dumps(ALREADY_POSTED), path_contains="/comments/")
    with pytest.raises(SentryBadRequest) as older:
        await client.add_comment(issue, "other words")
    assert already_posted(older.value)


async def test_other_refusals_are_not_taken_for_duplicates(
    sentry: FakeSentry, client: SentryClient
) -> None:
    issue = IssueId(sentry.create_issue("web", "TypeError: x")["id"])
    sentry.scopes = {"event:read"}
    with pytest.raises(SentryForbidden) as caught:
        await client.add_comment(issue, "hello")
    assert not already_posted(caught.value)
    with pytest.raises(ValueError, match="must not be empty"):
        await client.add_comment(issue, "  ")
