"""The test Sentry's member details (Sentry row 50 of tests/fakes/README.md): a member's teams
as slugs, 404 for an id that names no member, and the `member:read` scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry


@pytest.fixture(scope="module")
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as fake:
        yield fake


def get(sentry: FakeSentry, path: str, token: str = TOKENS["SENTRY_TOKEN"]) -> httpx.Response:
    return httpx.get(
        f"{sentry.url}/api/0/organizations/acme/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_member_details_name_the_members_teams(sentry: FakeSentry) -> None:
    member: dict[str, Any] = sentry.add_member("ana@example.com", name="Ana Lima")
    sentry.add_team("backend", members=["ana@example.com"])
    sentry.add_team("web", members=["ana@example.com"])
    sentry.add_team("mobile")
    body = get(sentry, f"members/{member['id']}/").json()
    assert body["email"] == "ana@example.com"
    assert body["teams"] == ["backend", "web"]
    assert body["teamRoles"] == [
        {"teamSlug": "backend", "role": None},
        {"teamSlug": "web", "role": None},
    ]


@pytest.mark.parametrize("member_id", ["999999", "abc", "0"])
def test_an_unknown_member_is_404(sentry: FakeSentry, member_id: str) -> None:
    response = get(sentry, f"members/{member_id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_member_details_need_member_read(sentry: FakeSentry) -> None:
    member: dict[str, Any] = sentry.add_member("bea@example.com")
    saved = set(sentry.scopes)
    sentry.scopes = {"org:read", "event:read"}
    try:
        response = get(sentry, f"members/{member['id']}/")
    finally:
        sentry.scopes = saved
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
