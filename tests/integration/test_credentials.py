"""Credential checks against the loopback Slack and Sentry: every refusal becomes one sentence
naming the variable and the fix, and trouble reaching a service is never taken for a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.credentials import (
    SlackAnswerWatch,
    check_sentry_token,
    check_slack_bot_token,
    open_socket_mode,
)
from bot.secret import Secret
from bot.sentry.client import SentryClient
from tests.fakes.sentry_server import DEFAULT_SCOPES, FakeSentry
from tests.fakes.slack_server import FakeSlack

TOKEN = "sntryu_credentials-test-0123"


async def no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(org="acme", token=TOKEN) as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


def sentry_client(
    sentry: FakeSentry, http: httpx.AsyncClient, *, token: str = TOKEN, org: str = "acme"
) -> SentryClient:
    return SentryClient(
        http, base_url=sentry.url, token=Secret(token), org=org, max_attempts=2, sleep=no_wait
    )


async def test_an_accepted_token_with_every_scope_is_fine(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    verdict = await check_sentry_token(sentry_client(sentry, http))
    assert (verdict.outcome, verdict.problem, verdict.warnings) == ("ok", None, ())


@pytest.mark.parametrize(
    ("token", "org", "scopes", "expected"),
    [
        ("sntryu_wrong", "acme", DEFAULT_SCOPES, "Sentry refused SENTRY_TOKEN (401 Invalid token)"),
        (TOKEN, "other", DEFAULT_SCOPES, "Sentry has no organization other for SENTRY_TOKEN (404)"),
        (
            TOKEN,
            "acme",
            {"event:read"},
            "Sentry refused SENTRY_TOKEN access to organization acme (403): grant the "
            "integration Organization: Read (org:read)",
        ),
    ],
)
async def test_each_sentry_refusal_names_its_fix(
    sentry: FakeSentry,
    http: httpx.AsyncClient,
    token: str,
    org: str,
    scopes: set[str],
    expected: str,
) -> None:
    sentry.scopes = set(scopes)
    verdict = await check_sentry_token(sentry_client(sentry, http, token=token, org=org))
    assert verdict.outcome == "refused"
    assert verdict.problem is not None
    assert verdict.problem.startswith(expected)
    assert TOKEN not in verdict.problem


async def test_missing_scopes_name_the_features_they_disable(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.scopes = {"org:read", "event:write", "project:read"}
    verdict = await check_sentry_token(sentry_client(sentry, http))
    assert verdict.outcome == "ok"
    assert [w.split(",")[0] for w in verdict.warnings] == [
        "SENTRY_TOKEN lacks the event:admin scope",
        "SENTRY_TOKEN lacks the project:releases scope",
        "SENTRY_TOKEN lacks the member:read scope",
    ]


async def test_an_unreachable_sentry_is_unknown_not_refused(http: httpx.AsyncClient) -> None:
    with FakeSentry(org="acme", token=TOKEN) as gone:
        url = gone.url
    client = SentryClient(http, base_url=url, token=Secret(TOKEN), org="acme", sleep=no_wait)
    verdict = await check_sentry_token(client)
    assert verdict.outcome == "unknown"
    assert verdict.problem is not None
    assert "check SENTRY_HOST" in verdict.problem


async def test_a_server_error_is_unknown_not_refused(
    sentry: FakeSentry, http: httpx.AsyncClient
) -> None:
    sentry.fail_next(2, status=503, path_contains="/organizations/acme/")
    verdict = await check_sentry_token(sentry_client(sentry, http))
    assert verdict.outcome == "unknown"


@pytest.mark.parametrize(
    ("state", "fix"),
    [
        ("invalid_auth", "copy the Bot User OAuth Token"),
        ("token_revoked", "reinstall the app"),
        ("account_inactive", "deactivated"),
    ],
)
async def test_each_slack_bot_token_refusal_names_its_fix(
    slack: FakeSlack, state: str, fix: str
) -> None:
    slack.set_token_state(state)  # type: ignore[arg-type]
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    verdict = await check_slack_bot_token(client)
    assert verdict.outcome == "refused"
    assert verdict.problem is not None
    assert verdict.problem.startswith(f"Slack refused SLACK_BOT_TOKEN ({state}): ")
    assert fix in verdict.problem


async def test_a_slack_outage_is_unknown_not_refused(slack: FakeSlack) -> None:
    slack.fail_next("auth.test", 1, status=503)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    verdict = await check_slack_bot_token(client)
    assert verdict.outcome == "unknown"


async def test_socket_mode_hands_out_the_url_or_names_the_app_token(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    opened = await open_socket_mode(client, Secret(slack.app_token))
    assert opened.outcome == "ok"
    assert opened.socket_url is not None
    assert opened.socket_url.startswith("ws://127.0.0.1:")
    refused = await open_socket_mode(client, Secret("xapp-1-A111-not-issued"))
    assert refused.outcome == "refused"
    assert refused.problem is not None
    assert refused.problem.startswith("Slack refused SLACK_APP_TOKEN (invalid_auth)")
    slack.fail_next("apps.connections.open", 1, status=503)
    assert (await open_socket_mode(client, Secret(slack.app_token))).outcome == "unknown"


async def test_the_answer_watch_sees_every_answer_and_never_retries(slack: FakeSlack) -> None:
    seen: list[tuple[str, str | None]] = []
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[
            SlackAnswerWatch(lambda method, error: seen.append((method, error))),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )
    await client.auth_test()
    slack.set_token_state("invalid_auth")
    await check_slack_bot_token(client)
    assert seen == [("auth.test", None), ("auth.test", "invalid_auth")]
    assert len(slack.calls("auth.test")) == 2
