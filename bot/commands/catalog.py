"""`/sentry projects`, `project`, `releases`, `release` and `release create`."""

from __future__ import annotations

import asyncio
from typing import Final

from bot.commands.context import CommandFailure, Invocation, Reply, Services
from bot.commands.lookup import all_projects, find_project, unknown_project
from bot.commands.model import (
    ProjectCommand,
    ProjectsCommand,
    ReleaseCommand,
    ReleaseCreateCommand,
    ReleasesCommand,
)
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.models import Project
from bot.slack.replies.catalog import (
    PROJECTS_SHOWN,
    ProjectSummary,
    build_project_detail,
    build_project_list,
    build_release_created,
    build_release_detail,
    build_release_list,
)
from bot.slack.replies.common import notice
from bot.triage.identity import Refusal

UNRESOLVED: Final = "is:unresolved"
# Issue counts are one search each (`limit=1`, the total read from `X-Hits`); a few at a time
# keeps a long project list inside Sentry's per-endpoint rate limits.
COUNT_CONCURRENCY: Final = 4


async def _unresolved(
    services: Services, project: Project, stats_period: str | None = None
) -> int | None:
    try:
        page = await services.sentry.list_issues(
            query=UNRESOLVED, projects=[project.id], limit=1, stats_period=stats_period
        )
    except SentryError:
        return None
    return page.hits if page.hits is not None else len(page.items)


async def projects(command: ProjectsCommand, invocation: Invocation, services: Services) -> Reply:
    found = sorted(await all_projects(services), key=lambda p: p.slug)
    gate = asyncio.Semaphore(COUNT_CONCURRENCY)

    async def summary(project: Project) -> ProjectSummary:
        async with gate:
            return ProjectSummary(project, unresolved=await _unresolved(services, project))

    summaries = list(await asyncio.gather(*(summary(p) for p in found[:PROJECTS_SHOWN])))
    summaries += [ProjectSummary(p) for p in found[PROJECTS_SHOWN:]]
    message = build_project_list(
        summaries,
        links=services.links,
        share=invocation.share_ref(),
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)


async def project(command: ProjectCommand, invocation: Invocation, services: Services) -> Reply:
    found = await find_project(services, command.slug)
    total, recent = await asyncio.gather(
        _unresolved(services, found), _unresolved(services, found, stats_period="24h")
    )
    message = build_project_detail(
        ProjectSummary(found, unresolved=total, unresolved_24h=recent),
        links=services.links,
        share=invocation.share_ref(),
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)


async def releases(command: ReleasesCommand, invocation: Invocation, services: Services) -> Reply:
    project_id = None
    if command.project is not None:
        project_id = (await find_project(services, command.project)).id
    page = await services.sentry.list_releases(project=project_id)
    message = build_release_list(
        page.items,
        project=command.project,
        has_more=page.next_cursor is not None,
        links=services.links,
        releases_url=services.links.releases(project_id),
        share=invocation.share_ref(),
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)


async def release(command: ReleaseCommand, invocation: Invocation, services: Services) -> Reply:
    try:
        found = await services.sentry.get_release(command.version)
    except SentryNotFound:
        raise CommandFailure(
            f"No release {command.version} in {services.sentry.org}; "
            "/sentry releases lists the recent ones."
        ) from None
    message = build_release_detail(
        found, links=services.links, share=invocation.share_ref(), shared_by=invocation.shared_by
    )
    return Reply(message, answer=True)


async def release_create(
    command: ReleaseCreateCommand, invocation: Invocation, services: Services
) -> Reply:
    """Create a release (release managers only: Sentry admins, managers and owners)."""
    who = await services.triage.identify(
        slack_user=invocation.user_id, slack_team=invocation.team_id, need="admin"
    )
    if isinstance(who, Refusal):
        return Reply(notice(who.reason))
    known: list[str] = [p.slug for p in await all_projects(services)]
    chosen: list[str] = list(command.projects)
    if not chosen:
        if len(known) != 1:
            raise CommandFailure(
                "Name the projects of the release, like "
                f"/sentry release create {command.version} {' '.join(sorted(known)[:2]) or 'web'}"
            )
        chosen = known
    for slug in chosen:
        if slug not in known:
            raise CommandFailure(unknown_project(slug, services.sentry.org, known))
    created_release, created = await services.sentry.create_release(
        version=command.version,
        projects=chosen,
        refs=[(commit.repository, commit.sha) for commit in command.commits],
    )
    return Reply(build_release_created(created_release, created=created, links=services.links))
