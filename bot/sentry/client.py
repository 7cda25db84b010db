"""`SentryClient`: the one async client of Sentry's REST API, with its retry and error policy.

Routes, parameters, scopes and status codes follow Sentry's API docs (docs.sentry.io/api/) as
summarised in the reference CONTRACT.md (§2 auth, §3 pagination, §4 rate limits, §5 errors,
§6 operations). Everything is parsed into `bot.sentry.models`; failures raise `bot.sentry.errors`.

Retry policy (CONTRACT.md §4; docs.sentry.io/api/ratelimits/):

* Only 429, 5xx and transport failures are retried, at most `max_attempts` tries in all.
* A 429 carries no `Retry-After`: the client waits until `X-Sentry-Rate-Limit-Reset` (epoch
  seconds), capped at `max_wait`. Self-hosted Sentry sends no rate-limit headers, so then it backs
  off exponentially from `backoff_base`, with jitter, also capped at `max_wait`.
* Requests that are not idempotent (creating a release) are retried only when Sentry cannot have
  acted on them: after a 429 (the rate limiter answers before the endpoint runs) or when the
  connection was never established. A timeout, a dropped connection or a 5xx after the body was
  sent may have created the release already, so those surface at once as errors. Replaying the
  POST would mostly answer 208, but it would also re-apply the commit refs, so the caller decides.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from bot.secret import Secret
from bot.sentry.errors import (
    ErrorContext,
    SentryError,
    SentryProtocolError,
    SentryTransportError,
    error_from_response,
)
from bot.sentry.models import (
    Event,
    Issue,
    Member,
    Page,
    Project,
    Release,
    Team,
    format_time,
)
from bot.sentry.pagination import next_cursor
from bot.sentry.project_ids import ProjectIds

T = TypeVar("T")
Params = list[tuple[str, str]]

logger = logging.getLogger(__name__)

# Scopes named in 401/403 messages; the lowest scope each operation accepts (CONTRACT.md §6).
SCOPE_ORG_READ = "org:read"
SCOPE_PROJECT_READ = "project:read"
SCOPE_EVENT_READ = "event:read"
SCOPE_EVENT_WRITE = "event:write"
SCOPE_EVENT_ADMIN = "event:admin"
SCOPE_RELEASES = "project:releases"
SCOPE_MEMBER_READ = "member:read"

# Sentry's issue-list `limit` and the `group=` batch are capped at 100 (CONTRACT.md §3, §6.3);
# a bulk mutation touches at most 1000 issues (`BULK_MUTATION_LIMIT`, §6.7).
MAX_ISSUE_LIMIT = 100
BULK_MUTATION_LIMIT = 1000
DEFAULT_TIMEOUT_SECONDS = 10.0

_ISSUE_ID = re.compile(r"^\d+$")
_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SentryClient:
    """Typed access to one Sentry organization through an injected `httpx.AsyncClient`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: Secret,
        org: str,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token
        self.org = org
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        timeout = http.timeout
        has_timeout = any(
            value is not None for value in (timeout.connect, timeout.read, timeout.write)
        )
        self._timeout: httpx.Timeout | None = (
            None if has_timeout else httpx.Timeout(DEFAULT_TIMEOUT_SECONDS)
        )
        self._project_ids = ProjectIds(
            lambda cursor: self.list_projects(cursor=cursor), org=org, clock=clock
        )

    def __repr__(self) -> str:
        return f"SentryClient(base_url={self._base_url!r}, org={self.org!r})"

    @property
    def web_base(self) -> str:
        """Base of Sentry's web UI, for permalinks the API leaves out."""
        return self._base_url

    # -- projects -------------------------------------------------------------------------

    async def list_projects(
        self, *, cursor: str | None = None, query: str | None = None
    ) -> Page[Project]:
        params = _optional(query=query, cursor=cursor)
        response = await self._request(
            "GET", self._org_path("projects/"), params=params, scope=SCOPE_ORG_READ
        )
        return self._page(response, Project.from_api)

    async def project_ids(self, slugs: Sequence[str]) -> list[str]:
        """Numeric ids of project slugs, for `project=` filters (cached; `UnknownProject`)."""
        return await self._project_ids.ids(slugs)

    async def get_project(self, slug: str) -> Project:
        path = f"/projects/{_seg(self.org)}/{_seg(slug)}/"
        response = await self._request(
            "GET", path, scope=SCOPE_PROJECT_READ, resource=f"project {slug}"
        )
        return Project.from_api(self._object(response))

    # -- issues ---------------------------------------------------------------------------

    async def list_issues(
        self,
        *,
        query: str,
        sort: str = "date",
        projects: Sequence[str] = (),
        environment: str | None = None,
        cursor: str | None = None,
        limit: int = MAX_ISSUE_LIMIT,
        stats_period: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> Page[Issue]:
        """Search the organization's issues; `query` is always sent (Sentry's default is not
        `is:unresolved` but `is:unresolved issue.priority:[high, medium]`, CONTRACT.md §6.3).

        `window` sends `start` and `end` (both required together, CONTRACT.md §6.3): the date
        range the listed issues' event and user counts are computed over.
        """
        params = self._issue_search(query, sort, limit, stats_period, cursor)
        params += [("project", project) for project in _project_filter(projects)]
        if window is not None:
            params += [("start", format_time(window[0])), ("end", format_time(window[1]))]
        if environment:
            params.append(("environment", environment))
        response = await self._request(
            "GET", self._org_path("issues/"), params=params, scope=SCOPE_EVENT_READ
        )
        return self._page(response, self._issue)

    async def list_project_issues(
        self,
        project_slug: str,
        *,
        query: str,
        sort: str = "date",
        cursor: str | None = None,
        limit: int = MAX_ISSUE_LIMIT,
        stats_period: str | None = None,
    ) -> Page[Issue]:
        """The project-scoped (deprecated but working) issue list, CONTRACT.md §6.4."""
        params = self._issue_search(query, sort, limit, stats_period, cursor)
        path = f"/projects/{_seg(self.org)}/{_seg(project_slug)}/issues/"
        response = await self._request(
            "GET", path, params=params, scope=SCOPE_EVENT_READ, resource=f"project {project_slug}"
        )
        return self._page(response, self._issue)

    async def get_issues_by_ids(self, ids: Sequence[str]) -> list[Issue]:
        """Fetch tracked issues by id, 100 per request, through the list's `group=` parameter."""
        clean = _issue_ids(ids)
        issues: list[Issue] = []
        for start in range(0, len(clean), MAX_ISSUE_LIMIT):
            chunk = clean[start : start + MAX_ISSUE_LIMIT]
            params: Params = [("group", issue_id) for issue_id in chunk]
            params += [("query", ""), ("limit", str(MAX_ISSUE_LIMIT))]
            response = await self._request(
                "GET", self._org_path("issues/"), params=params, scope=SCOPE_EVENT_READ
            )
            issues.extend(self._page(response, self._issue).items)
        return issues

    async def get_issue(self, ref: str) -> Issue:
        """One issue by numeric id or short id (`WEB-3F`); the org route resolves both."""
        ref = _non_empty(ref, "issue reference")
        response = await self._request(
            "GET", self._issue_path(ref), scope=SCOPE_EVENT_READ, resource=f"issue {ref}"
        )
        return self._issue(self._object(response))

    async def lookup_short_id(self, short_id: str) -> Issue:
        """Resolve a short id through `/shortids/{id}/` (CONTRACT.md §6.11)."""
        short_id = _non_empty(short_id, "short id")
        response = await self._request(
            "GET",
            self._org_path(f"shortids/{_seg(short_id)}/"),
            scope=SCOPE_EVENT_READ,
            resource=f"issue {short_id}",
        )
        group = self._object(response).get("group")
        if not isinstance(group, Mapping):
            raise self._protocol_error(response, "short-id answer without a group")
        return self._issue(group)

    async def latest_event(self, issue_id: str) -> Event:
        response = await self._request(
            "GET",
            self._issue_path(issue_id, "events/latest/"),
            scope=SCOPE_EVENT_READ,
            resource=f"latest event of issue {issue_id}",
        )
        return Event.from_api(self._object(response))

    async def list_issue_events(
        self, issue_id: str, *, cursor: str | None = None, full: bool = False
    ) -> Page[Event]:
        params = _optional(cursor=cursor)
        if full:
            params.append(("full", "true"))
        response = await self._request(
            "GET",
            self._issue_path(issue_id, "events/"),
            params=params,
            scope=SCOPE_EVENT_READ,
            resource=f"issue {issue_id}",
        )
        return self._page(response, Event.from_api)

    async def update_issue(self, issue_id: str, changes: Mapping[str, Any]) -> Issue:
        """Partial update of one issue (CONTRACT.md §6.6); Sentry answers the full issue."""
        _check_changes(changes)
        response = await self._request(
            "PUT",
            self._issue_path(issue_id),
            json=dict(changes),
            scope=SCOPE_EVENT_WRITE,
            resource=f"issue {issue_id}",
        )
        return self._issue(self._object(response))

    async def bulk_update(
        self, ids: Sequence[str], changes: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Update several issues in one request; Sentry answers the changed fields only.

        The ids are always explicit: without `id=` Sentry applies the change to every issue that
        matches the search (CONTRACT.md §6.7), so an empty list is refused. Pass ids that were
        just listed: per the source, ids that match nothing fall back to a search as well.
        """
        clean = _issue_ids(ids)
        if not clean:
            raise ValueError("bulk_update needs at least one issue id")
        if len(clean) > BULK_MUTATION_LIMIT:
            raise ValueError(f"bulk_update takes at most {BULK_MUTATION_LIMIT} ids")
        _check_changes(changes)
        response = await self._request(
            "PUT",
            self._org_path("issues/"),
            params=[("id", issue_id) for issue_id in clean],
            json=dict(changes),
            scope=SCOPE_EVENT_WRITE,
            resource="issues " + ", ".join(clean[:5]) + (" …" if len(clean) > 5 else ""),
        )
        if response.status_code == 204:
            return {}
        return self._object(response)

    async def delete_issue(self, issue_id: str) -> None:
        """Delete one issue (202, asynchronous in Sentry; the issue answers 404 afterwards)."""
        await self._request(
            "DELETE",
            self._issue_path(issue_id),
            scope=SCOPE_EVENT_ADMIN,
            resource=f"issue {issue_id}",
        )

    # -- releases -------------------------------------------------------------------------

    async def list_releases(
        self, *, project: str | None = None, query: str | None = None, cursor: str | None = None
    ) -> Page[Release]:
        wanted = _project_filter([project] if project is not None else [])
        params = [("project", p) for p in wanted] + _optional(query=query, cursor=cursor)
        response = await self._request(
            "GET", self._org_path("releases/"), params=params, scope=SCOPE_RELEASES
        )
        return self._page(response, Release.from_api)

    async def get_release(self, version: str) -> Release:
        version = _non_empty(version, "release version")
        response = await self._request(
            "GET",
            self._org_path(f"releases/{_seg(version)}/"),
            scope=SCOPE_RELEASES,
            resource=f"release {version}",
        )
        return Release.from_api(self._object(response))

    async def create_release(
        self,
        *,
        version: str,
        projects: Sequence[str],
        refs: Sequence[tuple[str, str]] = (),
    ) -> tuple[Release, bool]:
        """Create a release; the flag is False when it already existed (208, CONTRACT.md §6.13).

        `refs` are `(repository, commit sha)` pairs. Not retried once sent (module docstring).
        """
        version = _non_empty(version, "release version")
        if not projects:
            raise ValueError("a release needs at least one project")
        body: dict[str, Any] = {"version": version, "projects": list(projects)}
        if refs:
            body["refs"] = [{"repository": repo, "commit": sha} for repo, sha in refs]
        response = await self._request(
            "POST",
            self._org_path("releases/"),
            json=body,
            scope=SCOPE_RELEASES,
            resource="organization " + self.org,
            idempotent=False,
        )
        return Release.from_api(self._object(response)), response.status_code == 201

    # -- events, members, teams -----------------------------------------------------------

    async def list_project_events(
        self, project_slug: str, *, cursor: str | None = None
    ) -> Page[Event]:
        path = f"/projects/{_seg(self.org)}/{_seg(project_slug)}/events/"
        response = await self._request(
            "GET",
            path,
            params=_optional(cursor=cursor),
            scope=SCOPE_PROJECT_READ,
            resource=f"project {project_slug}",
        )
        return self._page(response, Event.from_api)

    async def list_members(
        self, *, query: str | None = None, cursor: str | None = None
    ) -> Page[Member]:
        params = _optional(query=query, cursor=cursor)
        response = await self._request(
            "GET", self._org_path("members/"), params=params, scope=SCOPE_MEMBER_READ
        )
        return self._page(response, Member.from_api)

    async def find_member_by_email(self, email: str) -> Member | None:
        """The member whose e-mail (or any verified user e-mail) is `email`, if any.

        Uses the members list's undocumented `query=email:` filter (CONTRACT.md §6.15) and
        still checks the answer, so a server that ignores the filter cannot map the wrong person.
        """
        wanted = _non_empty(email, "e-mail").strip().lower()
        page = await self.list_members(query=f"email:{wanted}")
        for member in page.items:
            addresses = {member.email.lower(), *(e.lower() for e in member.emails)}
            if wanted in addresses:
                return member
        return None

    async def list_teams(
        self, *, query: str | None = None, cursor: str | None = None
    ) -> Page[Team]:
        params = _optional(query=query, cursor=cursor)
        response = await self._request(
            "GET", self._org_path("teams/"), params=params, scope=SCOPE_ORG_READ
        )
        return self._page(response, Team.from_api)

    # -- transport ------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        params: Params | None = None,
        json: Any = None,
        resource: str | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send one API call with the retry policy of the module docstring."""
        url = f"{self._base_url}/api/0{path}"
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/json",
        }
        extra: dict[str, Any] = {"timeout": self._timeout} if self._timeout is not None else {}
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=tuple(params or ()),
                    json=json,
                    headers=headers,
                    **extra,
                )
            except httpx.TransportError as exc:
                unsafe = not idempotent and not isinstance(exc, _CONNECT_PHASE)
                if last or unsafe:
                    raise SentryTransportError(
                        f"Could not reach Sentry ({type(exc).__name__})",
                        detail=self._scrub(str(exc)),
                        method=method,
                        path=path,
                    ) from exc
                wait = self._backoff(attempt)
                logger.warning(
                    "sentry %s %s failed (%s), retry %d in %.2fs",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    wait,
                )
                await self._sleep(wait)
                continue
            status = response.status_code
            retryable = status == 429 or (status >= 500 and idempotent)
            if retryable and not last:
                hinted = self._rate_limit_wait(response) if status == 429 else None
                wait = self._backoff(attempt) if hinted is None else hinted
                logger.warning(
                    "sentry %s %s answered %d, retry %d in %.2fs",
                    method,
                    path,
                    status,
                    attempt,
                    wait,
                )
                await response.aclose()
                await self._sleep(wait)
                continue
            if status >= 400:
                raise self._http_error(response, method, path, scope, resource)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, capped at `max_wait`."""
        ceiling = min(self._max_wait, self._backoff_base * 2.0 ** (attempt - 1))
        jitter: float = self._rng.uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds until `X-Sentry-Rate-Limit-Reset` (epoch seconds), capped; None if absent."""
        raw = response.headers.get("X-Sentry-Rate-Limit-Reset")
        if raw is None:
            return None
        try:
            reset_at = float(raw)
        except ValueError:
            return None
        return min(max(reset_at - self._clock(), 0.0), self._max_wait)

    def _http_error(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        scope: str,
        resource: str | None,
    ) -> SentryError:
        detail = ""
        fields: dict[str, Any] = {}
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, str):  # the 429 body is a JSON string (CONTRACT.md §4)
            detail = body
        elif isinstance(body, Mapping):
            message = body.get("detail", body.get("message"))
            if isinstance(message, str):
                detail = message
            else:
                fields = dict(body)
        context = ErrorContext(
            status=response.status_code,
            method=method,
            path=path,
            detail=self._scrub(detail),
            field_errors=fields,
            required_scope=scope,
            resource=resource or f"organization {self.org}",
            retry_after=self._rate_limit_wait(response) if response.status_code == 429 else None,
        )
        return error_from_response(context)

    def _scrub(self, text: str) -> str:
        secret = self._token.reveal()
        return text.replace(secret, str(self._token)) if secret else text

    # -- parsing --------------------------------------------------------------------------

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._protocol_error(response, "a body that is not JSON") from exc

    def _object(self, response: httpx.Response) -> dict[str, Any]:
        body = self._json(response)
        if not isinstance(body, dict):
            raise self._protocol_error(response, "a body that is not a JSON object")
        return body

    def _page(self, response: httpx.Response, parse: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        body = self._json(response)
        if not isinstance(body, list):
            raise self._protocol_error(response, "a body that is not a JSON list")
        hits_header = response.headers.get("X-Hits")
        return Page(
            items=tuple(parse(item) for item in body if isinstance(item, Mapping)),
            next_cursor=next_cursor(response.headers.get("Link")),
            hits=int(hits_header) if hits_header and hits_header.isdigit() else None,
        )

    def _protocol_error(self, response: httpx.Response, what: str) -> SentryProtocolError:
        request = response.request
        return SentryProtocolError(
            f"Sentry sent {what}; the bot could not read it",
            status=response.status_code,
            method=request.method,
            path=request.url.path.removeprefix("/api/0"),
        )

    def _issue(self, data: Mapping[str, Any]) -> Issue:
        return Issue.from_api(data, web_base=self.web_base, org=self.org)

    # -- paths ----------------------------------------------------------------------------

    def _org_path(self, rest: str) -> str:
        return f"/organizations/{_seg(self.org)}/{rest}"

    def _issue_path(self, issue_id: str, rest: str = "") -> str:
        return self._org_path(f"issues/{_seg(_non_empty(issue_id, 'issue id'))}/{rest}")

    @staticmethod
    def _issue_search(
        query: str, sort: str, limit: int, stats_period: str | None, cursor: str | None
    ) -> Params:
        if not 1 <= limit <= MAX_ISSUE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_ISSUE_LIMIT}")
        params: Params = [("query", query), ("sort", sort), ("limit", str(limit))]
        return params + _optional(statsPeriod=stats_period, cursor=cursor)

    # -- credentials ----------------------------------------------------------------------

    async def get_organization(self) -> str:
        """The organization's name: the cheapest call proving the token may read it
        (`GET /organizations/{org}/`, scope org:read; Sentry `api/bases/organization.py`)."""
        response = await self._request(
            "GET", self._org_path(""), scope=SCOPE_ORG_READ, resource=f"organization {self.org}"
        )
        name = self._object(response).get("name")
        return name if isinstance(name, str) else self.org

    async def token_scopes(self) -> frozenset[str] | None:
        """The scopes Sentry grants this token, from the API root `GET /api/0/` (`auth.scopes`,
        Sentry `api/endpoints/index.py`); None when the host does not say (region hosts may
        not serve the root, and a session without a token has `auth: null`)."""
        try:
            response = await self._request("GET", "/", scope=SCOPE_ORG_READ)
            body = self._object(response)
        except SentryError:
            return None
        auth = body.get("auth")
        scopes = auth.get("scopes") if isinstance(auth, Mapping) else None
        if not isinstance(scopes, list):
            return None
        return frozenset(s for s in scopes if isinstance(s, str) and len(s) <= 64)


def _seg(value: str) -> str:
    """One URL path segment; versions and short ids may hold `/`, `+` or spaces."""
    return quote(value, safe="")


def _optional(**values: str | None) -> Params:
    return [(key, value) for key, value in values.items() if value is not None]


def _non_empty(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def _issue_ids(ids: Sequence[str]) -> list[str]:
    """Sentry takes numeric issue ids only (`Group ids must be integers`, CONTRACT.md §6.3)."""
    if isinstance(ids, str):
        raise TypeError("ids must be a sequence of ids, not one string")
    clean = [str(issue_id).strip() for issue_id in ids]
    bad = [issue_id for issue_id in clean if not _ISSUE_ID.match(issue_id)]
    if bad:
        raise ValueError(f"issue ids must be integers, got {bad[:3]!r}")
    return list(dict.fromkeys(clean))


def _project_filter(projects: Sequence[str]) -> list[str]:
    """Organization endpoints take numeric project ids (or -1) only; map slugs with
    `SentryClient.project_ids` first (Sentry `api/bases/organization.py`)."""
    if isinstance(projects, str):
        raise TypeError("projects must be a sequence of ids, not one string")
    clean = [str(project).strip() for project in projects]
    bad = [p for p in clean if not (_ISSUE_ID.match(p) or p == "-1")]
    if bad:
        raise ValueError(f"project filters take numeric ids, got {bad[:3]!r}")
    return clean


def _check_changes(changes: Mapping[str, Any]) -> None:
    if not changes:
        raise ValueError("an issue update needs at least one field")
    if "assignedTo" in changes and changes["assignedTo"] is None:
        raise ValueError('Sentry rejects assignedTo null; send "" to unassign')
