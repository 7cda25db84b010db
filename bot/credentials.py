"""Whether Slack and Sentry accept the configured credentials, and what to do when they don't.

Each check makes the cheapest call that proves a credential works and turns the answer into a
`Verdict`: fine, refused (the credential itself is wrong: an operator must act), or unknown
(the service could not be asked: network, 5xx, rate limit; asked again later). Every problem is
one sentence that names the variable and the fix.

- Slack bot token: `auth.test` (Slack docs: auth.test; errors `not_authed`, `invalid_auth`,
  `account_inactive`, `token_revoked`, `token_expired` as HTTP 200 `{"ok": false}`).
- Slack app-level token (Socket Mode): `apps.connections.open` with the `xapp-` token in the
  Authorization header (Slack docs: apps.connections.open); a success hands out the WebSocket URL,
  which the caller connects to at once.
- Sentry token: `GET /api/0/organizations/{org}/` (401 `{"detail": "Invalid token"}` for a bad
  token, 403 without access, 404 for an organization the token cannot see; Sentry
  `src/sentry/api/authentication.py`, `api/bases/organization.py`), then the token's scopes from
  the API root `GET /api/0/` (`auth.scopes`, Sentry `api/endpoints/index.py`), compared with the
  scopes the README asks for. When the root does not list scopes, missing ones surface later as
  403 answers naming the scope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.secret import Secret
from bot.sentry.client import SentryClient
from bot.sentry.errors import (
    SentryError,
    SentryForbidden,
    SentryHTTPError,
    SentryNotFound,
    SentryUnauthorized,
)

# Slack's answers that mean the token itself is refused (Slack docs: auth.test "Errors").
SLACK_AUTH_ERRORS: Final = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)

# Further answers of apps.connections.open that mean the app-level token cannot open Socket
# Mode (Slack docs: apps.connections.open "Errors"); anything else is the service's trouble.
SLACK_APP_TOKEN_ERRORS: Final = SLACK_AUTH_ERRORS | {"missing_scope", "no_permission"}

Outcome = Literal["ok", "refused", "unknown"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's answer: `problem` is None when fine, else one sentence with the fix."""

    outcome: Outcome
    problem: str | None = None
    warnings: tuple[str, ...] = ()
    socket_url: str | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"


OK: Final = Verdict("ok")


# -- Slack ------------------------------------------------------------------------------------

_SLACK_BOT_FIX: Final = {
    "not_authed": "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…)",
    "invalid_auth": (
        "copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page"
    ),
    "token_revoked": (
        "the app was uninstalled or the token revoked; reinstall the app to the workspace and "
        "set SLACK_BOT_TOKEN to the new Bot User OAuth Token"
    ),
    "token_expired": (
        "the token expired (token rotation is on); turn rotation off for this app or set "
        "SLACK_BOT_TOKEN to a fresh token"
    ),
    "account_inactive": (
        "the bot user or workspace was deactivated; reinstall the app and set SLACK_BOT_TOKEN"
    ),
}
_SLACK_APP_FIX: Final = (
    "generate an app-level token with the connections:write scope under Basic Information → "
    "App-Level Tokens, set SLACK_APP_TOKEN to it, and make sure Socket Mode is enabled"
)


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    data: Any = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, Mapping) else None
    return str(code) if isinstance(code, str) and code.isprintable() else "unknown_error"


async def check_slack_bot_token(client: AsyncWebClient) -> Verdict:
    """`auth.test` with the bot token."""
    try:
        await client.auth_test()
    except SlackApiError as exc:
        code = _slack_error(exc)
        if code in SLACK_AUTH_ERRORS:
            fix = _SLACK_BOT_FIX.get(code, _SLACK_BOT_FIX["invalid_auth"])
            return Verdict("refused", f"Slack refused SLACK_BOT_TOKEN ({code[:40]}): {fix}")
        return Verdict(
            "unknown",
            f"Slack could not check SLACK_BOT_TOKEN (auth.test answered {code[:40]}, HTTP "
            f"{exc.response.status_code}); checking again",
        )
    except Exception as exc:  # network: asked again later
        return Verdict(
            "unknown",
            f"cannot reach Slack to check SLACK_BOT_TOKEN ({type(exc).__name__}); check "
            "SLACK_API_URL and the network; checking again",
        )
    return OK


async def open_socket_mode(client: AsyncWebClient, app_token: Secret) -> Verdict:
    """`apps.connections.open` with the app-level token; on success `socket_url` is the
    WebSocket URL to connect to (a one-time ticket)."""
    try:
        response = await client.apps_connections_open(app_token=app_token.reveal())
    except SlackApiError as exc:
        code = _slack_error(exc)
        if code in SLACK_APP_TOKEN_ERRORS:
            return Verdict(
                "refused", f"Slack refused SLACK_APP_TOKEN ({code[:40]}): {_SLACK_APP_FIX}"
            )
        return Verdict(
            "unknown",
            f"Slack Socket Mode is not connected: apps.connections.open answered {code[:40]} "
            f"(HTTP {exc.response.status_code}); retrying",
        )
    except Exception as exc:
        return Verdict(
            "unknown",
            f"Slack Socket Mode is not connected: cannot reach Slack ({type(exc).__name__}); "
            "check SLACK_API_URL and the network; retrying",
        )
    url = response.get("url")
    if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
        return Verdict(
            "unknown",
            "Slack Socket Mode is not connected: apps.connections.open gave no URL; retrying",
        )
    return Verdict("ok", socket_url=url)


class SlackAnswerWatch(AsyncRetryHandler):
    """Never retries: sees every Web API answer and reports (method, error code or None) so a
    token refused later (`invalid_auth` on any call) is noticed at once. Listed first among a
    client's retry handlers, it sees each answer before any other handler decides."""

    def __init__(self, on_answer: Callable[[str, str | None], None]) -> None:
        super().__init__(max_retry_count=1_000_000)
        self._on_answer = on_answer

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        if isinstance(body, Mapping):
            method = request.url.rstrip("/").rsplit("/", 1)[-1]
            code = None if body.get("ok") else body.get("error")
            self._on_answer(method, code if isinstance(code, str) else None)
        return False


class RefusedAppTokenNoise(logging.Filter):
    """Drops slack_sdk's own log records of Slack refusing the app-level token (an error, often
    with a traceback, on each reconnect attempt): the bot reports the refusal once itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SlackApiError) and _slack_error(exc) in SLACK_APP_TOKEN_ERRORS:
            return False
        message = record.getMessage()
        return "apps.connections.open" not in message or not any(
            f"'{code}'" in message for code in SLACK_APP_TOKEN_ERRORS
        )


# -- Sentry -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeNeed:
    """A scope from the README's table, the scopes that satisfy it, and what it enables."""

    scope: str
    satisfied_by: frozenset[str]
    enables: str
    essential: bool = False


# Which scopes satisfy which (Sentry docs: api/permissions; `GroupPermission.scope_map`).
SCOPE_NEEDS: Final = (
    ScopeNeed(
        "event:read",
        frozenset({"event:read", "event:write", "event:admin"}),
        "new-issue alerts, cards and /sentry issues",
        essential=True,
    ),
    ScopeNeed(
        "event:write",
        frozenset({"event:write", "event:admin"}),
        "triage from cards and /sentry (resolve, ignore, assign) and comments",
    ),
    ScopeNeed("event:admin", frozenset({"event:admin"}), "/sentry delete"),
    ScopeNeed(
        "project:read",
        frozenset({"project:read", "project:write", "project:admin"}),
        "/sentry project and project events",
    ),
    ScopeNeed(
        "project:releases",
        frozenset({"project:releases", "project:write", "project:admin", "org:ci"}),
        "/sentry release create",
    ),
    ScopeNeed(
        "org:read",
        frozenset({"org:read", "org:write", "org:admin"}),
        "project and team lists (routes by project, /sentry projects, assigning to teams)",
    ),
    ScopeNeed(
        "member:read",
        frozenset({"member:read", "member:write", "member:admin"}),
        "triage by people in Slack (each is matched to a Sentry member by e-mail)",
    ),
)


def missing_scopes(granted: frozenset[str]) -> tuple[list[ScopeNeed], list[ScopeNeed]]:
    """(essential, optional) needs that none of the granted scopes satisfies."""
    missing = [need for need in SCOPE_NEEDS if not need.satisfied_by & granted]
    return [n for n in missing if n.essential], [n for n in missing if not n.essential]


def _scope_sentence(need: ScopeNeed) -> str:
    return (
        f"SENTRY_TOKEN lacks the {need.scope} scope, so {need.enables} will not work: grant it "
        "in the integration's permissions (Settings → Developer Settings)"
    )


def _sentry_refusal(exc: SentryHTTPError, sentry: SentryClient) -> str:
    org = sentry.org
    if isinstance(exc, SentryUnauthorized):
        return (
            f"Sentry refused SENTRY_TOKEN (401 {exc.detail[:60] or 'unauthorized'}): the token "
            "is revoked, expired or mistyped; copy the internal integration's token (Settings → "
            "Developer Settings) into SENTRY_TOKEN"
        )
    if isinstance(exc, SentryForbidden):
        return (
            f"Sentry refused SENTRY_TOKEN access to organization {org} (403): grant the "
            "integration Organization: Read (org:read), or use a token of a member of "
            f"{org}"
        )
    return (
        f"Sentry has no organization {org} for SENTRY_TOKEN (404): check SENTRY_ORG (the slug "
        f"in your Sentry URLs) and SENTRY_HOST ({sentry.web_base}; EU organizations use "
        "de.sentry.io), and that the token belongs to that organization"
    )


async def check_sentry_token(sentry: SentryClient) -> Verdict:
    """The organization with the token, then the token's scopes."""
    try:
        await sentry.get_organization()
    except (SentryUnauthorized, SentryForbidden, SentryNotFound) as exc:
        return Verdict("refused", _sentry_refusal(exc, sentry))
    except SentryError as exc:
        return Verdict(
            "unknown",
            f"cannot check SENTRY_TOKEN with Sentry at {sentry.web_base} ({exc}); check "
            "SENTRY_HOST and the network; checking again",
        )
    granted = await sentry.token_scopes()
    if granted is None:
        return OK
    essential, optional = missing_scopes(granted)
    if essential:
        return Verdict(
            "refused",
            "; ".join(_scope_sentence(n) for n in essential),
            warnings=tuple(_scope_sentence(n) for n in optional),
        )
    return Verdict("ok", warnings=tuple(_scope_sentence(n) for n in optional))
