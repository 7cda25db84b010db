"""Gathering one digest's content from Sentry in five requests, whatever the number of projects.

The requests (all org-level, run concurrently; CONTRACT.md §6.3 and §6.13):

1. new issues: `firstSeen:>=start firstSeen:<end`, `sort=new`, 100 per page; `X-Hits` is the total;
2. active issues: `is:unresolved lastSeen:>=start`, `sort=freq`, with `start`/`end` so Sentry
   counts events and users in the period; regressed and escalating issues are read from the
   `substatus` of these (the hundred most active), which saves two searches;
3. resolved: `is:resolved lastSeen:>=start`, `limit=1`, only `X-Hits` is read;
4. ignored: `is:ignored lastSeen:>=start`, `limit=1`, likewise. Sentry's search has no "status
   changed at" filter, so these count issues active in the period that are now resolved/ignored;
5. releases: the newest page of the organization's releases (Sentry lists them newest first),
   kept when created in the period and, for a digest of some projects, touching one of them.

Projects are passed as repeated `project=` parameters (the schema accepts slugs); a digest of every
project sends none. "and N more" links open the same search in Sentry's web UI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

from bot.digests.model import DigestContent
from bot.sentry.client import MAX_ISSUE_LIMIT, SentryClient
from bot.sentry.models import Issue, Page, Release, format_time

REQUESTS_PER_DIGEST = 5


def new_query(start: datetime, end: datetime) -> str:
    return f"firstSeen:>={format_time(start)} firstSeen:<{format_time(end)}"


def active_query(start: datetime) -> str:
    return f"is:unresolved lastSeen:>={format_time(start)}"


def status_query(status: str, start: datetime) -> str:
    return f"is:{status} lastSeen:>={format_time(start)}"


def search_url(
    web_base: str,
    org: str,
    *,
    query: str,
    start: datetime,
    end: datetime,
    project_ids: Sequence[str],
    sort: str,
) -> str:
    """The Sentry web UI's issue search for the same query and period (`project=-1`: all)."""
    params: list[tuple[str, str]] = [
        ("query", query),
        ("sort", sort),
        ("start", format_time(start)),
        ("end", format_time(end)),
    ]
    params += [("project", pid) for pid in project_ids] or [("project", "-1")]
    return f"{web_base.rstrip('/')}/organizations/{org}/issues/?{urlencode(params)}"


def _total(page: Page[Issue]) -> int:
    return page.hits if page.hits is not None else len(page.items)


def _in_projects(release: Release, projects: Sequence[str]) -> bool:
    return not projects or any(p in release.projects for p in projects)


async def gather_digest(
    sentry: SentryClient,
    *,
    projects: Sequence[str],
    start: datetime,
    end: datetime,
    top: int = 10,
    scheduled_for: datetime | None = None,
    on_demand: bool = False,
) -> DigestContent:
    """Read everything a digest of `projects` (empty: all) between `start` and `end` shows."""
    wanted = list(projects)
    window = (start, end)
    new_page, active_page, resolved_page, ignored_page, releases_page = await asyncio.gather(
        sentry.list_issues(
            query=new_query(start, end), sort="new", projects=wanted, limit=MAX_ISSUE_LIMIT
        ),
        sentry.list_issues(
            query=active_query(start),
            sort="freq",
            projects=wanted,
            limit=MAX_ISSUE_LIMIT,
            window=window,
        ),
        sentry.list_issues(query=status_query("resolved", start), projects=wanted, limit=1),
        sentry.list_issues(query=status_query("ignored", start), projects=wanted, limit=1),
        sentry.list_releases(),
    )
    releases = tuple(
        r
        for r in releases_page.items
        if r.date_created is not None and start <= r.date_created < end and _in_projects(r, wanted)
    )
    known_ids: dict[str, str] = {
        i.project.slug: i.project.id for i in (*new_page.items, *active_page.items) if i.project.id
    }
    project_ids = [known_ids[p] for p in wanted if p in known_ids] if wanted else []
    return DigestContent(
        projects=tuple(wanted),
        period_start=start,
        period_end=end,
        new_issues=new_page.items,
        new_total=_total(new_page),
        active=tuple(sorted(active_page.items, key=lambda i: (-i.count, i.id))),
        active_total=_total(active_page),
        resolved=_total(resolved_page),
        ignored=_total(ignored_page),
        releases=releases,
        top=top,
        scheduled_for=scheduled_for,
        on_demand=on_demand,
        new_search_url=search_url(
            sentry.web_base,
            sentry.org,
            query=new_query(start, end),
            start=start,
            end=end,
            project_ids=project_ids,
            sort="new",
        ),
        active_search_url=search_url(
            sentry.web_base,
            sentry.org,
            query=active_query(start),
            start=start,
            end=end,
            project_ids=project_ids,
            sort="freq",
        ),
    )
