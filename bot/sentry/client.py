"""`SentryClient`: the one async client of Sentry's REST API, with its retry and error policy.

Routes, parameters, scopes and status codes follow Sentry's API docs (docs.sentry.io/api/:
requests, pagination, ratelimits, permissions) and, where they are silent, Sentry's source
(`src/sentry/api/base.py`, `src/sentry/api/helpers/group_index/`, the endpoints named per
method). Everything is parsed into `bot.sentry.models`; failures raise `bot.sentry.errors`.

Retry policy (docs.sentry.io/api/ratelimits/; Sentry `src/sentry/middleware/ratelimit.py`):

* Only 429, 5xx and transport failures are retried, at most `max_attempts` tries in all.
* A 429 carries no `Retry-After`: the client waits until `X-Sentry-Rate-Limit-Reset` (epoch
  seconds), capped at `max_wait`. Self-hosted Sentry sends no rate-limit headers, so then it backs
  off exponentially from `backoff_base`, with jitter, also capped at `max_wait`.
* Every request has a deadline for the whole exchange (connect, send, every byte of the answer),
  not only per read: a server that drips its answer a byte at a time raises
  `SentryDeadlineExceeded` after `deadline` seconds, and is not retried. One call, retries and
  waits included, never takes longer than `call_budget` seconds: a wait that would pass it
  raises at once.
* Answers are streamed and capped (compressed and inflated bytes, `bot.sentry.body`); large
  bodies are decoded off the event loop. Lists are parsed object by object: an object the bot
  cannot read is skipped, counted in `health` and logged once, and the rest of the page is used.
* Paths are built only from the typed identifiers of `bot.sentry.ids`; a write to the bulk
  endpoint needs at least one explicit `IssueId` (without `id=` Sentry changes every issue the
  search matches).
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote, urlencode

import httpx

from bot.secret import Secret
from bot.sentry import bounds
from bot.sentry.body import (
    ACCEPT_ENCODING,
    BodyLimits,
    BodyTooLarge,
    BodyUnreadable,
    decode_json,
    read_body,
)
from bot.sentry.errors import (
    ErrorContext,
    SentryDeadlineExceeded,
    SentryError,
    SentryProtocolError,
    SentryResponseTooLarge,
    SentryTransportError,
    error_from_response,
)
from bot.sentry.health import SentryHealth
from bot.sentry.ids import Cursor, InvalidId, IssueId, MemberId, ReleaseVersion, ShortId, Slug
from bot.sentry.models import (
    Comment,
    Event,
    Issue,
    IssueState,
    Member,
    MemberTeams,
    Organization,
    Page,
    Project,
    Release,
    Team,
    UnreadableItem,
    format_time,
)
from bot.sentry.pagination import next_cursor
from bot.sentry.project_ids import ProjectIds

T = TypeVar("T")
Params = list[tuple[str, str]]
# What a card's state needs none of: the sparkline, counts and times (`stats`), the
# lifetime and filtered totals, and the unhandled flag (Sentry `group_stream.py`).
STATE_COLLAPSE = ("stats", "lifetime", "filtered", "unhandled")

logger = logging.getLogger(__name__)

# Scopes named in 401/403 messages; the lowest scope each operation accepts
# (docs.sentry.io/api/permissions/).
SCOPE_ORG_READ = "org:read"
SCOPE_PROJECT_READ = "project:read"
SCOPE_EVENT_READ = "event:read"
SCOPE_EVENT_WRITE = "event:write"
SCOPE_EVENT_ADMIN = "event:admin"
SCOPE_RELEASES = "project:releases"
SCOPE_MEMBER_READ = "member:read"

# Sentry's issue-list `limit` and the `group=` batch are capped at 100 (Sentry
# `src/sentry/issues/endpoints/organization_group_index.py`); a bulk mutation touches at most
# 1000 issues (`BULK_MUTATION_LIMIT`, `src/sentry/api/helpers/group_index/__init__.py`).
MAX_ISSUE_LIMIT = 100
BULK_MUTATION_LIMIT = 1000
DEFAULT_TIMEOUT_SECONDS = 10.0
# The whole of one request, and the whole of one call (retries and waits included).
DEFAULT_DEADLINE_SECONDS = 15.0
DEFAULT_CALL_BUDGET_SECONDS = 30.0

PathPart = IssueId | ShortId | Slug | ReleaseVersion | MemberId


class TimeLimits(TypedDict):
    deadline: float
    call_budget: float


def time_limits(poll_interval: float) -> TimeLimits:
    """`deadline` and `call_budget` for a client polled every `poll_interval` seconds: no call
    takes more than one interval (but at least 5 s, so a busy Sentry is not cut off)."""
    room = max(float(poll_interval), 5.0)
    return TimeLimits(
        deadline=min(DEFAULT_DEADLINE_SECONDS, room),
        call_budget=min(DEFAULT_CALL_BUDGET_SECONDS, room),
    )


# Project ids are Sentry BIGINTs, written in decimal (`project=` must be numbers).
_NUMERIC_ID = re.compile(r"[1-9][0-9]{0,18}")
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
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        call_budget: float = DEFAULT_CALL_BUDGET_SECONDS,
        limits: BodyLimits | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if deadline <= 0 or call_budget <= 0:
            raise ValueError("deadline and call_budget must be positive")
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token
        self.org = Slug(org)
        self.organization_url: str | None = None
        self.health = SentryHealth()
        self._deadline = deadline
        self._call_budget = call_budget
        self._limits = limits or BodyLimits()
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

    async def get_organization(self) -> Organization:
        """The organization (Sentry `GET /api/0/organizations/{org}/`, `OrganizationSerializer`);
        remembers its `links.organizationUrl`, where issue permalinks are trusted from then on."""
        response = await self._request(
            "GET", self._org_path(""), scope=SCOPE_ORG_READ, resource=f"organization {self.org}"
        )
        organization = await self._one(response, Organization.from_api)
        self.organization_url = organization.organization_url
        return organization

    async def list_projects(
        self, *, cursor: str | None = None, query: str | None = None
    ) -> Page[Project]:
        params = _optional(query=query, cursor=_cursor(cursor))
        response = await self._request(
            "GET", self._org_path("projects/"), params=params, scope=SCOPE_ORG_READ
        )
        return await self._page(response, Project.from_api)

    async def project_ids(self, slugs: Sequence[str]) -> list[str]:
        """Numeric ids of project slugs, for `project=` filters (cached; `UnknownProject`)."""
        return await self._project_ids.ids(slugs)

    async def get_project(self, slug: Slug | str) -> Project:
        project = Slug(slug)
        path = f"/projects/{_seg(self.org)}/{_seg(project)}/"
        response = await self._request(
            "GET", path, scope=SCOPE_PROJECT_READ, resource=f"project {project}"
        )
        return await self._one(response, Project.from_api)

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
        `is:unresolved` but `is:unresolved issue.priority:[high, medium]`, Sentry
        `src/sentry/api/helpers/group_index/index.py`).

        `window` sends `start` and `end` (both required together, Sentry
        `src/sentry/issues/endpoints/organization_group_index.py`): the date
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
        return await self._page(response, self._issue)

    async def get_issues_by_ids(self, ids: Iterable[IssueId | str]) -> list[Issue]:
        """Fetch tracked issues by id, 100 per request, through the list's `group=` parameter.

        A stored id that is not an issue id is skipped (and counted in `health`), never sent:
        Sentry would refuse the whole batch (`Group ids must be integers`).
        """
        return await self._by_ids(ids, self._issue, [])

    async def get_issue_states(self, ids: Iterable[IssueId | str]) -> list[IssueState]:
        """Like `get_issues_by_ids`, but only what can change a card: Sentry is asked to leave
        out the sparkline, counts, times and totals (`collapse=`, Sentry
        `api/serializers/models/group_stream.py`), and only four fields are read."""
        return await self._by_ids(
            ids, IssueState.from_api, [("collapse", part) for part in STATE_COLLAPSE]
        )

    async def _by_ids(
        self,
        ids: Iterable[IssueId | str],
        parse: Callable[[Mapping[str, Any]], T],
        extra: Params,
    ) -> list[T]:
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of ids, not one string")
        clean: list[IssueId] = []
        for raw in ids:
            parsed = IssueId.parse(raw)
            if parsed is None:
                self._skipped(UnreadableItem("issue id", repr(raw)[:40], "not an issue id"))
            else:
                clean.append(parsed)
        clean = list(dict.fromkeys(clean))
        found: list[T] = []
        # The query string is written once per batch: ids are decimal digits (`IssueId`), so
        # `group=<id>` needs no escaping, and the fixed part is encoded once per call.
        tail = "&" + urlencode([("query", ""), ("limit", str(MAX_ISSUE_LIMIT)), *extra])
        for start in range(0, len(clean), MAX_ISSUE_LIMIT):
            chunk = clean[start : start + MAX_ISSUE_LIMIT]
            query = "group=" + "&group=".join(chunk) + tail
            response = await self._request(
                "GET", self._org_path("issues/"), query=query, scope=SCOPE_EVENT_READ
            )
            found.extend((await self._page(response, parse)).items)
        return found

    async def get_issue(self, ref: IssueId | ShortId | str) -> Issue:
        """One issue by numeric id or short id (`WEB-3F`); the org route resolves both."""
        target = _issue_ref(ref)
        response = await self._request(
            "GET", self._issue_path(target), scope=SCOPE_EVENT_READ, resource=f"issue {target}"
        )
        return await self._one(response, self._issue)

    async def latest_event(self, issue_id: IssueId | ShortId | str) -> Event:
        """The latest event of an issue named by numeric id or short id."""
        target = _issue_ref(issue_id)
        response = await self._request(
            "GET",
            self._issue_path(target, "events/latest/"),
            scope=SCOPE_EVENT_READ,
            resource=f"latest event of issue {target}",
        )
        return await self._one(response, Event.from_api)

    async def list_issue_events(
        self, issue_id: IssueId | ShortId | str, *, cursor: str | None = None, full: bool = False
    ) -> Page[Event]:
        target = _issue_ref(issue_id)
        params = _optional(cursor=_cursor(cursor))
        if full:
            params.append(("full", "true"))
        response = await self._request(
            "GET",
            self._issue_path(target, "events/"),
            params=params,
            scope=SCOPE_EVENT_READ,
            resource=f"issue {target}",
        )
        return await self._page(response, Event.from_api)

    async def update_issue(self, issue_id: IssueId, changes: Mapping[str, Any]) -> Issue:
        """Partial update of one issue; Sentry answers the full issue.

        Sentry `src/sentry/issues/endpoints/group_details.py` and
        `src/sentry/api/helpers/group_index/validators/group.py`.
        """
        _check_changes(changes)
        target = _write_id(issue_id)
        response = await self._request(
            "PUT",
            self._issue_path(target),
            json=dict(changes),
            scope=SCOPE_EVENT_WRITE,
            resource=f"issue {target}",
        )
        return await self._one(response, self._issue)

    async def bulk_update(
        self, ids: Sequence[IssueId], changes: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Update several issues in one request; Sentry answers the changed fields only.

        The ids are always explicit: without `id=` Sentry applies the change to every issue that
        matches the search (Sentry `src/sentry/api/helpers/group_index/update.py`), so
        `_bulk_params` refuses an empty list. Pass ids that were just listed: per the source, ids
        that match nothing fall back to a search.
        """
        params = _bulk_params(ids)
        _check_changes(changes)
        shown = [value for _, value in params]
        response = await self._request(
            "PUT",
            self._org_path("issues/"),
            params=params,
            json=dict(changes),
            scope=SCOPE_EVENT_WRITE,
            resource="issues " + ", ".join(shown[:5]) + (" …" if len(shown) > 5 else ""),
        )
        if response.status_code == 204:
            return {}
        return await self._object(response)

    async def delete_issue(self, issue_id: IssueId) -> None:
        """Delete one issue (202, asynchronous in Sentry; the issue answers 404 afterwards)."""
        issue_id = _write_id(issue_id)
        await self._request(
            "DELETE",
            self._issue_path(issue_id),
            scope=SCOPE_EVENT_ADMIN,
            resource=f"issue {issue_id}",
        )

    # -- comments -------------------------------------------------------------------------

    async def list_comments(self, issue_id: IssueId, *, cursor: str | None = None) -> Page[Comment]:
        """An issue's comments, newest first (Sentry `GroupNotesEndpoint.get`: activity of type
        `note`, `DateTimePaginator` ordered by `-datetime`, 100 per page by default)."""
        target = _write_id(issue_id)
        response = await self._request(
            "GET",
            self._issue_path(target, "comments/"),
            params=_optional(cursor=_cursor(cursor)),
            scope=SCOPE_EVENT_READ,
            resource=f"issue {target}",
        )
        return await self._page(response, Comment.from_api)

    async def add_comment(self, issue_id: IssueId, text: str) -> Comment:
        """Add a comment to an issue (Sentry `GroupNotesEndpoint.post`, 201 with the activity).

        A 400 `You have already posted that comment.` means the same author posted the same
        text within the hour: a retried POST whose first answer was lost lands there, so a
        retry never makes a second comment and this is retried like a read.
        """
        target = _write_id(issue_id)
        response = await self._request(
            "POST",
            self._issue_path(target, "comments/"),
            json={"text": _non_empty(text, "a comment")},
            scope=SCOPE_EVENT_WRITE,
            resource=f"issue {target}",
        )
        return await self._one(response, Comment.from_api)

    # -- releases -------------------------------------------------------------------------

    async def list_releases(
        self, *, project: str | None = None, query: str | None = None, cursor: str | None = None
    ) -> Page[Release]:
        wanted = _project_filter([project] if project is not None else [])
        params = [("project", p) for p in wanted] + _optional(query=query, cursor=_cursor(cursor))
        response = await self._request(
            "GET", self._org_path("releases/"), params=params, scope=SCOPE_RELEASES
        )
        return await self._page(response, Release.from_api)

    async def get_release(self, version: ReleaseVersion | str) -> Release:
        version = ReleaseVersion(version)
        response = await self._request(
            "GET",
            self._org_path(f"releases/{_seg(version)}/"),
            scope=SCOPE_RELEASES,
            resource=f"release {version}",
        )
        return await self._one(response, Release.from_api)

    async def create_release(
        self,
        *,
        version: ReleaseVersion | str,
        projects: Sequence[Slug | str],
        refs: Sequence[tuple[str, str]] = (),
    ) -> tuple[Release, bool]:
        """Create a release; the flag is False when it already existed (208, Sentry
        `OrganizationReleasesEndpoint.post`).

        `refs` are `(repository, commit sha)` pairs. Not retried once sent (module docstring).
        """
        version = ReleaseVersion(version)
        if not projects:
            raise ValueError("a release needs at least one project")
        body: dict[str, Any] = {"version": version, "projects": [Slug(p) for p in projects]}
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
        return await self._one(response, Release.from_api), response.status_code == 201

    # -- events, members, teams -----------------------------------------------------------

    async def list_members(
        self, *, query: str | None = None, cursor: str | None = None
    ) -> Page[Member]:
        params = _optional(query=query, cursor=_cursor(cursor))
        response = await self._request(
            "GET", self._org_path("members/"), params=params, scope=SCOPE_MEMBER_READ
        )
        return await self._page(response, Member.from_api)

    async def get_member_teams(self, member_id: str) -> MemberTeams:
        """The teams of one member (Sentry `GET /api/0/organizations/{org}/members/{member_id}/`,
        scope `member:read`; `teams` lists their slugs): whose issues "your teams" means."""
        member = MemberId(member_id)
        response = await self._request(
            "GET",
            self._org_path(f"members/{_seg(member)}/"),
            scope=SCOPE_MEMBER_READ,
            resource=f"member {member_id}",
        )
        return await self._one(response, MemberTeams.from_api)

    async def list_teams(
        self, *, query: str | None = None, cursor: str | None = None
    ) -> Page[Team]:
        params = _optional(query=query, cursor=_cursor(cursor))
        response = await self._request(
            "GET", self._org_path("teams/"), params=params, scope=SCOPE_ORG_READ
        )
        return await self._page(response, Team.from_api)

    # -- transport ------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        params: Params | None = None,
        query: str | None = None,
        json: Any = None,
        resource: str | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send one API call with the retry policy of the module docstring.

        `params` are encoded here; `query` is a query string already encoded by the caller.
        The URL is built once for every attempt. The answer comes back fully read (within
        the body caps) as a plain response.
        """
        if params and query is not None:
            raise ValueError("pass params or an encoded query, not both")
        url = httpx.URL(f"{self._base_url}/api/0{path}", params=tuple(params or ()) or None)
        if query is not None:
            url = httpx.URL(f"{url}?{query}")
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        extra: dict[str, Any] = {"timeout": self._timeout} if self._timeout is not None else {}
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._call_budget
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            request = self._http.build_request(method, url, json=json, headers=headers, **extra)
            limit = min(self._deadline, max(give_up_at - loop.time(), 0.0))
            try:
                response = await self._exchange(request, limit, method, path)
            except httpx.TransportError as exc:
                unsafe = not idempotent and not isinstance(exc, _CONNECT_PHASE)
                wait = self._backoff(attempt)
                if last or unsafe or loop.time() + wait >= give_up_at:
                    raise SentryTransportError(
                        f"Could not reach Sentry ({type(exc).__name__})",
                        detail=self._scrub(str(exc)),
                        method=method,
                        path=path,
                    ) from exc
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
                if loop.time() + wait < give_up_at:
                    logger.warning(
                        "sentry %s %s answered %d, retry %d in %.2fs",
                        method,
                        path,
                        status,
                        attempt,
                        wait,
                    )
                    await self._sleep(wait)
                    continue
            if status >= 400:
                raise await self._http_error(response, method, path, scope, resource)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _exchange(
        self, request: httpx.Request, limit: float, method: str, path: str
    ) -> httpx.Response:
        """One request and its whole answer within `limit` seconds and the body caps."""
        try:
            async with asyncio.timeout(limit):
                response = await self._http.send(request, stream=True)
                try:
                    body = await read_body(response, self._limits)
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            what = f"{method} {path}"
            self.health.note_deadline(what, time.time())
            logger.warning("sentry %s took longer than %.1fs; gave up", what, limit)
            error = SentryDeadlineExceeded(
                f"Sentry did not answer within {limit:.0f} s",
                method=method,
                path=path,
            )
            error.deadline = limit
            raise error from exc
        except BodyTooLarge as exc:
            what = f"{method} {path}"
            self.health.note_too_large(what)
            logger.warning("sentry %s answered more than the bot reads (%s)", what, exc)
            error_large = SentryResponseTooLarge(
                f"Sentry's answer is too large for the bot ({exc.what} over {exc.limit} bytes)",
                status=response.status_code,
                method=method,
                path=path,
            )
            error_large.limit = exc.limit
            raise error_large from exc
        except BodyUnreadable as exc:
            raise SentryProtocolError(
                f"Sentry sent {exc}; the bot could not read it",
                status=response.status_code,
                method=method,
                path=path,
            ) from exc
        headers = [
            (key, value)
            for key, value in response.headers.multi_items()
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

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

    async def _http_error(
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
            body: Any = await decode_json(response.content, self._limits)
        except BodyUnreadable:
            body = None
        # Error texts reach Slack replies and the action log: clamped like any Sentry text.
        if isinstance(body, str):  # a JSON string: Sentry `src/sentry/middleware/ratelimit.py`
            detail = bounds.text(body, bounds.MAX_WORD * 2)
        elif isinstance(body, Mapping):
            message = body.get("detail", body.get("message"))
            if isinstance(message, str):
                detail = bounds.text(message, bounds.MAX_WORD * 2)
            else:
                fields = bounds.mapping(body)
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

    async def _json(self, response: httpx.Response) -> Any:
        try:
            return await decode_json(response.content, self._limits)
        except BodyUnreadable as exc:
            raise self._protocol_error(response, str(exc)) from exc

    async def _object(self, response: httpx.Response) -> dict[str, Any]:
        body = await self._json(response)
        if not isinstance(body, dict):
            raise self._protocol_error(response, "a body that is not a JSON object")
        return body

    async def _one(self, response: httpx.Response, parse: Callable[[Mapping[str, Any]], T]) -> T:
        """One object answer; an object the bot cannot use is a protocol error of this call."""
        return await self._one_of(response, await self._object(response), parse)

    async def _one_of(
        self,
        response: httpx.Response,
        data: Mapping[str, Any],
        parse: Callable[[Mapping[str, Any]], T],
    ) -> T:
        try:
            return parse(data)
        except (UnreadableItem, InvalidId) as exc:
            raise self._protocol_error(response, f"an object the bot cannot use ({exc})") from exc

    async def _page(
        self, response: httpx.Response, parse: Callable[[Mapping[str, Any]], T]
    ) -> Page[T]:
        """A list answer parsed object by object: unreadable objects are skipped and counted."""
        body = await self._json(response)
        if not isinstance(body, list):
            raise self._protocol_error(response, "a body that is not a JSON list")
        items: list[T] = []
        skipped: list[UnreadableItem] = []
        for index, raw in enumerate(body):
            try:
                if not isinstance(raw, Mapping):
                    raise UnreadableItem("object", f"#{index}", "not a JSON object")
                items.append(parse(raw))
            except UnreadableItem as exc:
                skipped.append(exc)
            except (ValueError, TypeError, RecursionError, OverflowError) as exc:
                skipped.append(UnreadableItem("object", f"#{index}", type(exc).__name__))
        for item in skipped:
            self._skipped(item, response)
        hits_header = response.headers.get("X-Hits", "")
        return Page(
            items=tuple(items),
            next_cursor=next_cursor(response.links),
            hits=bounds.count(hits_header) if hits_header.isdigit() else None,
            skipped=tuple(skipped),
        )

    def _skipped(self, item: UnreadableItem, response: httpx.Response | None = None) -> None:
        if self.health.note_skip(item):
            where = ""
            if response is not None:
                where = f" in {response.request.method} {response.request.url.path}"
            logger.warning("skipped %s%s (logged once)", item, where)

    def _protocol_error(self, response: httpx.Response, what: str) -> SentryProtocolError:
        request = response.request
        return SentryProtocolError(
            f"Sentry sent {what}; the bot could not read it",
            status=response.status_code,
            method=request.method,
            path=request.url.path.removeprefix("/api/0"),
        )

    def _issue(self, data: Mapping[str, Any]) -> Issue:
        return Issue.from_api(
            data, web_base=self.web_base, org=self.org, organization_url=self.organization_url
        )

    # -- paths ----------------------------------------------------------------------------

    def _org_path(self, rest: str) -> str:
        return f"/organizations/{_seg(self.org)}/{rest}"

    def _issue_path(self, issue: IssueId | ShortId, rest: str = "") -> str:
        if not isinstance(issue, IssueId | ShortId):
            raise TypeError("an issue path needs an IssueId or a ShortId")
        return self._org_path(f"issues/{_seg(issue)}/{rest}")

    @staticmethod
    def _issue_search(
        query: str, sort: str, limit: int, stats_period: str | None, cursor: str | None
    ) -> Params:
        if not 1 <= limit <= MAX_ISSUE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_ISSUE_LIMIT}")
        params: Params = [("query", query), ("sort", sort), ("limit", str(limit))]
        return params + _optional(statsPeriod=stats_period, cursor=cursor)

    # -- credentials ----------------------------------------------------------------------

    async def token_scopes(self) -> frozenset[str] | None:
        """The scopes Sentry grants this token, from the API root `GET /api/0/` (`auth.scopes`,
        Sentry `api/endpoints/index.py`); None when the host does not say (region hosts may
        not serve the root, and a session without a token has `auth: null`)."""
        try:
            response = await self._request("GET", "/", scope=SCOPE_ORG_READ)
            body = await self._object(response)
        except SentryError:
            return None
        auth = body.get("auth")
        scopes = auth.get("scopes") if isinstance(auth, Mapping) else None
        if not isinstance(scopes, list):
            return None
        return frozenset(s for s in scopes if isinstance(s, str) and len(s) <= 64)


def _seg(value: PathPart) -> str:
    """One URL path segment from a typed identifier (none can be empty, `.` or `..`);
    versions and short ids may hold `+`, `@` or spaces, so everything is percent-encoded."""
    if not isinstance(value, IssueId | ShortId | Slug | ReleaseVersion | MemberId):
        raise TypeError("path segments are built from typed identifiers only")
    return quote(value, safe="")


def _optional(**values: str | None) -> Params:
    return [(key, value) for key, value in values.items() if value is not None]


def _non_empty(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def _cursor(value: str | None) -> Cursor | None:
    """A cursor to send back: only one Sentry could have made (`InvalidId` otherwise)."""
    return None if value is None else Cursor(value)


def _issue_ref(ref: IssueId | ShortId | str) -> IssueId | ShortId:
    if isinstance(ref, IssueId | ShortId):
        return ref
    return IssueId.parse(ref) or ShortId(ref)


def _write_id(issue_id: IssueId) -> IssueId:
    """The id of an issue to change; re-validated so a plain string cannot slip through."""
    return issue_id if type(issue_id) is IssueId else IssueId(issue_id)


def _bulk_params(ids: Sequence[IssueId]) -> Params:
    """`id=` parameters of a bulk change: at least one, at most `BULK_MUTATION_LIMIT`.

    Without `id=` the bulk endpoint changes every issue the search matches (Sentry
    `src/sentry/api/helpers/group_index/update.py`), so there is no way to ask for that here.
    """
    if isinstance(ids, str):
        raise TypeError("ids must be a sequence of ids, not one string")
    clean = list(dict.fromkeys(_write_id(issue_id) for issue_id in ids))
    if not clean:
        raise ValueError("a bulk change needs at least one issue id")
    if len(clean) > BULK_MUTATION_LIMIT:
        raise ValueError(f"a bulk change takes at most {BULK_MUTATION_LIMIT} ids")
    return [("id", issue_id) for issue_id in clean]


def _project_filter(projects: Sequence[str]) -> list[str]:
    """Organization endpoints take numeric project ids (or -1) only; map slugs with
    `SentryClient.project_ids` first (Sentry `api/bases/organization.py`)."""
    if isinstance(projects, str):
        raise TypeError("projects must be a sequence of ids, not one string")
    clean = [str(project).strip() for project in projects]
    bad = [p for p in clean if not (_NUMERIC_ID.fullmatch(p) or p == "-1")]
    if bad:
        raise ValueError(f"project filters take numeric ids, got {bad[:3]!r}")
    return clean


def _check_changes(changes: Mapping[str, Any]) -> None:
    if not changes:
        raise ValueError("an issue update needs at least one field")
    if "assignedTo" in changes and changes["assignedTo"] is None:
        raise ValueError('Sentry rejects assignedTo null; send "" to unassign')
