"""Project slugs → numeric ids, for the organization-level endpoints that take ids only.

Sentry's organization endpoints filter by `project=<numeric id>` and answer a slug with 400
"Invalid project parameter. Values must be numbers." (Sentry
`src/sentry/api/bases/organization.py`, `get_requested_project_ids_unchecked`), while people and
route files name projects by slug. The map is read from the organization's projects list and
kept for `ttl` seconds; a slug it does not know triggers one early re-read (a project created a
minute ago), at most once per `miss_interval`, so a misspelt slug cannot turn every digest into
a projects-list crawl.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Sequence

from bot.sentry.errors import SentryError
from bot.sentry.models import Page, Project
from bot.sentry.pagination import all_pages

DEFAULT_TTL_SECONDS = 600.0
DEFAULT_MISS_INTERVAL_SECONDS = 60.0
MAX_PROJECT_PAGES = 10


class UnknownProject(SentryError):
    """A slug that names no project of the organization the token can see."""

    def __init__(self, slugs: Sequence[str], org: str, known: Sequence[str]) -> None:
        names = ", ".join(f"'{slug}'" for slug in slugs)
        close = sorted(
            {m for slug in slugs for m in difflib.get_close_matches(slug, known, n=3, cutoff=0.5)}
        )
        if close:
            hint = "did you mean " + " or ".join(close) + "?"
        elif known:
            listed = ", ".join(sorted(known)[:10])
            hint = f"its projects are {listed}{' …' if len(known) > 10 else ''}"
        else:
            hint = "the bot sees no projects there"
        noun = "project" if len(slugs) == 1 else "projects"
        super().__init__(f"Sentry has no {noun} {names} in {org}; {hint}")
        self.slugs = tuple(slugs)


class ProjectIds:
    """A cached slug → id map of one organization, read through `list_projects` pages."""

    def __init__(
        self,
        list_projects: Callable[[str | None], Awaitable[Page[Project]]],
        *,
        org: str,
        clock: Callable[[], float],
        ttl: float = DEFAULT_TTL_SECONDS,
        miss_interval: float = DEFAULT_MISS_INTERVAL_SECONDS,
    ) -> None:
        self._list_projects = list_projects
        self._org = org
        self._clock = clock
        self._ttl = ttl
        self._miss_interval = miss_interval
        self._ids: dict[str, str] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def ids(self, slugs: Sequence[str]) -> list[str]:
        """The numeric ids of `slugs`, in order; `UnknownProject` names any that do not exist."""
        wanted = list(dict.fromkeys(slugs))
        if not wanted:
            return []
        async with self._lock:
            now = self._clock()
            stale = self._read_at is None or now - self._read_at >= self._ttl
            missing = [slug for slug in wanted if slug not in self._ids]
            may_retry = self._read_at is None or now - self._read_at >= self._miss_interval
            if stale or (missing and may_retry):
                await self._refresh()
            missing = [slug for slug in wanted if slug not in self._ids]
            if missing:
                raise UnknownProject(missing, self._org, list(self._ids))
            return [self._ids[slug] for slug in wanted]

    async def _refresh(self) -> None:
        projects = await all_pages(self._list_projects, max_pages=MAX_PROJECT_PAGES)
        self._ids = {project.slug: project.id for project in projects if project.id.isdigit()}
        self._read_at = self._clock()
