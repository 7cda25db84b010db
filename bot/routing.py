"""Routes and digests changed from Slack: who may, what Sentry accepts, the store, the action log.

The rules of `/sentry subscribe` and `/sentry digest` (README: Routes and digests file): only
mapped Sentry members change them; a route's projects and search are checked against Sentry
before anything is stored (a typo fails now rather than silently never matching); a new route
starts its watermark at creation, and an edited one keeps it, so neither floods the channel
with older issues; routes and digests from the config file are read-only. Each change is
written to the action log (who, what, the outcome).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.config_file import RouteSpec
from bot.digests.service import DigestService
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryBadRequest, SentryNotFound
from bot.sentry.pagination import all_pages
from bot.sentry.project_ids import UnknownProject
from bot.store.actions import ActionLog
from bot.store.digests import SLACK, Digest, DigestStore
from bot.store.routes import Route, RouteExists, RouteStore
from bot.triage.identity import Identity, IdentityResolver, Refusal

logger = logging.getLogger(__name__)

Field = Literal["channel", "projects", "query", "environment", "timezone"]

SOURCE = "home"
PROJECTS_TTL_SECONDS = 60.0
MAX_PROJECT_PAGES = 10


class GroupChoice(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def label(self) -> str: ...


class UserGroups(Protocol):
    """The workspace's user groups a route may notify (bot.slack.usergroups)."""

    async def search(self, text: str, *, limit: int = 100) -> Sequence[GroupChoice]: ...

    async def labels(self, ids: Sequence[str]) -> dict[str, str]: ...


class RoutingRefused(Exception):
    """The person may not change routes, or the route is gone; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldProblem(Exception):
    """One value of the form cannot be used; shown on that field."""

    def __init__(self, field: Field, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class DigestChange:
    channel: str
    projects: tuple[str, ...]
    cron: str
    timezone: str


class RoutingService:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        identities: IdentityResolver,
        routes: RouteStore,
        digests: DigestService | None,
        digest_store: DigestStore,
        log: ActionLog,
        clock: Callable[[], datetime],
        groups: UserGroups | None = None,
    ) -> None:
        self._sentry = sentry
        self._identities = identities
        self._routes = routes
        self._digests = digests
        self._digest_store = digest_store
        self._log = log
        self._clock = clock
        self.groups = groups
        self._projects: list[str] = []
        self._projects_at: float | None = None

    async def project_slugs(self, text: str) -> list[str]:
        """Project slugs containing `text`, prefixes first, for the project picker; the list
        is read once a minute at most."""
        now = time.monotonic()
        if self._projects_at is None or now - self._projects_at > PROJECTS_TTL_SECONDS:
            projects = await all_pages(
                lambda cursor: self._sentry.list_projects(cursor=cursor),
                max_pages=MAX_PROJECT_PAGES,
            )
            self._projects = sorted(str(p.slug) for p in projects)
            self._projects_at = now
        needle = text.strip().lower()
        first = [slug for slug in self._projects if slug.startswith(needle)]
        rest = [slug for slug in self._projects if needle in slug and slug not in first]
        return (first + rest)[:100]

    async def member(self, *, slack_user: str, slack_team: str) -> Identity:
        """The Sentry member behind a Slack user; `RoutingRefused` with the reason otherwise
        (`SentryError` when Sentry cannot be asked)."""
        who = await self._identities.resolve(slack_user=slack_user, slack_team=slack_team)
        if isinstance(who, Refusal):
            raise RoutingRefused(who.reason)
        if await self._identities.is_guest(slack_user):
            raise RoutingRefused("Guests of this workspace cannot change routes or digests.")
        return who

    async def check_route(
        self, *, projects: Sequence[str], query: str, environment: str | None
    ) -> None:
        """Ask Sentry whether the route would search at all: its projects exist and it accepts
        the query (one search, one result). `FieldProblem` names the field Sentry refused."""
        try:
            ids = await self._sentry.project_ids(projects)
        except UnknownProject as exc:
            raise FieldProblem("projects", str(exc)) from exc
        try:
            await self._sentry.list_issues(
                query=query, projects=ids, environment=environment, limit=1
            )
        except SentryBadRequest as exc:
            raise FieldProblem("query", f"Sentry does not accept this search: {exc}") from exc
        except SentryNotFound as exc:
            if environment:
                raise FieldProblem(
                    "environment",
                    f"Sentry knows no environment named {environment!r} in this organization "
                    "(it appears once an event is sent from it).",
                ) from exc
            raise

    async def _audit(
        self, who: Identity, action: str, arg: str, *, source: str, result: str = "ok"
    ) -> None:
        await self._log.record(
            at=self._clock(),
            source=source,
            slack_user=who.slack_user,
            slack_team=who.slack_team,
            sentry_user=who.sentry_user_id,
            issue_ids=[],
            action=action,
            arg=arg[:200],
            result=result,
        )

    # ---- routes ---------------------------------------------------------------------------

    async def editable_route(self, route_id: int) -> Route:
        route = await self._routes.get(route_id)
        if route is None:
            raise RoutingRefused("That route no longer exists.")
        if route.source != "slack":
            raise RoutingRefused(
                "That route comes from the config file: change it there, and restart the app."
            )
        return route

    async def save_route(
        self, who: Identity, route_id: int | None, spec: RouteSpec, *, source: str = SOURCE
    ) -> Route:
        """Add a route (watermark now) or change one (watermark kept), checked with Sentry."""
        await self.check_route(
            projects=spec.projects, query=spec.query, environment=spec.environment
        )
        if route_id is None:
            route = await self._routes.add(spec, now=self._clock(), created_by=who.slack_user)
            await self._audit(who, "route.add", f"route:{route.id} {route.channel}", source=source)
            return route
        try:
            changed = await self._routes.replace(route_id, spec)
        except RouteExists as exc:
            raise FieldProblem(
                "query", "Another route already sends these projects and search to that channel."
            ) from exc
        if changed is None:
            raise RoutingRefused("That route no longer exists, or comes from the config file.")
        await self._audit(who, "route.edit", f"route:{changed.id} {changed.channel}", source=source)
        return changed

    async def unsubscribe(
        self, who: Identity, *, source: str = SOURCE, channel: str, project: str | None
    ) -> int:
        """Remove a channel's Slack-made routes (those naming `project`, or all), as
        `/sentry unsubscribe` does; the count removed."""
        removed = await self._routes.remove(channel=channel, project=project)
        if removed:
            await self._audit(
                who, "route.remove", f"{channel} {project or 'all'} ({removed})", source=source
            )
        return removed

    async def remove_route(self, who: Identity, route_id: int, *, source: str = SOURCE) -> Route:
        removed = await self._routes.delete(route_id)
        if removed is None:
            raise RoutingRefused("That route no longer exists, or comes from the config file.")
        await self._audit(
            who, "route.remove", f"route:{removed.id} {removed.channel}", source=source
        )
        return removed

    # ---- digests --------------------------------------------------------------------------

    def _digest_service(self) -> DigestService:
        if self._digests is None:
            raise RoutingRefused("Digests are not available in this installation of the app.")
        return self._digests

    async def editable_digest(self, digest_id: int) -> Digest:
        digest = await self._digest_store.get(digest_id)
        if digest is None:
            raise RoutingRefused("That digest no longer exists.")
        if digest.source != SLACK:
            raise RoutingRefused(
                "That digest comes from the config file: change it there, and restart the app."
            )
        return digest

    async def save_digest(
        self,
        who: Identity,
        digest_id: int | None,
        change: DigestChange,
        *,
        source: str = SOURCE,
    ) -> Digest:
        """Set a channel's digest (one made from Slack per channel, as `/sentry digest`); an
        edit that moves it to another channel stops the old channel's."""
        service = self._digest_service()
        old = await self.editable_digest(digest_id) if digest_id is not None else None
        try:
            await self._sentry.project_ids(change.projects)
        except UnknownProject as exc:
            raise FieldProblem("projects", str(exc)) from exc
        try:
            digest = await service.schedule_channel_digest(
                change.channel,
                cron=change.cron,
                timezone=change.timezone,
                created_by=who.slack_user,
                projects=change.projects,
            )
        except ValueError as exc:
            raise FieldProblem("timezone", f"That schedule cannot be used: {exc}") from exc
        if old is not None and old.channel != change.channel:
            await service.remove_channel_digest(old.channel)
        action = "digest.add" if old is None else "digest.edit"
        await self._audit(
            who, action, f"digest:{digest.id} {digest.channel} {digest.cron}", source=source
        )
        return digest

    async def stop_channel_digest(
        self, who: Identity, channel: str, *, source: str = SOURCE
    ) -> bool:
        """Stop the channel's digest made from Slack (`/sentry digest off`)."""
        stopped = await self._digest_service().remove_channel_digest(channel)
        if stopped:
            await self._audit(who, "digest.remove", channel, source=source)
        return stopped

    async def remove_digest(self, who: Identity, digest_id: int, *, source: str = SOURCE) -> Digest:
        service = self._digest_service()
        digest = await self.editable_digest(digest_id)
        await service.remove_channel_digest(digest.channel)
        await self._audit(
            who, "digest.remove", f"digest:{digest.id} {digest.channel}", source=source
        )
        return digest
