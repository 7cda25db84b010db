"""Slack profiles reach the triage domain only as `SlackProfile`s, read from the fake Slack's
`auth.test` and `users.info`; a profile Slack will not show is a `SlackProfileError` naming
Slack's error, which the identity check turns into a refusal worded for the person."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.slack.profiles import SlackProfiles
from bot.triage.directory import MemberDirectory
from bot.triage.identity import (
    Identity,
    IdentityResolver,
    Refusal,
    SlackProfile,
    SlackProfileError,
)
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

TOKEN = "sntrys_profiles"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_user("U111", "ada@example.com", "ada")
        fake.add_user("U999", "eve@other.example", "eve", team_id="T999")
        yield fake


@pytest.fixture
def profiles(slack: FakeSlack) -> SlackProfiles:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    return SlackProfiles(client)


async def test_profiles_and_home_team_are_read_from_slack(profiles: SlackProfiles) -> None:
    assert await profiles.home_team() == "T111"
    assert await profiles.profile("U111") == SlackProfile(
        email="ada@example.com", team="T111", is_bot=False, deleted=False
    )
    assert (await profiles.profile("U999")).team == "T999"


async def test_an_unknown_member_is_a_profile_error(profiles: SlackProfiles) -> None:
    with pytest.raises(SlackProfileError) as caught:
        await profiles.profile("U404")
    assert caught.value.error == "user_not_found"


@pytest.fixture
async def directory() -> AsyncIterator[MemberDirectory]:
    with FakeSentry(org="acme", token=TOKEN) as sentry:
        sentry.add_member("ada@example.com")
        async with httpx.AsyncClient(timeout=2.0) as http:
            client = SentryClient(http, base_url=sentry.url, token=Secret(TOKEN), org="acme")
            yield MemberDirectory(client)


async def test_the_identity_check_refuses_with_slacks_reason(
    profiles: SlackProfiles, directory: MemberDirectory
) -> None:
    resolver = IdentityResolver(slack=profiles, directory=directory, org="acme")
    ada = await resolver.resolve(slack_user="U111", slack_team="T111")
    assert isinstance(ada, Identity)
    assert ada.email == "ada@example.com"
    refusal = await resolver.resolve(slack_user="U404", slack_team="T111")
    assert refusal == Refusal(
        "Could not read your Slack profile (user_not_found); please try again."
    )
    with pytest.raises(SlackProfileError):
        await resolver.email_of("U404")
    assert await resolver.email_of("U111") == "ada@example.com"
