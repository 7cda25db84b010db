"""Finding what a command names in Sentry: projects (with close matches) and issues by reference.

Issue references become numeric ids before any change: a bulk update takes `id=` only, and an id
that matches nothing would make Sentry fall back to a search (Sentry
`src/sentry/api/helpers/group_index/update.py`, `update_groups_with_search_fn`), so every id sent
has just been read back from Sentry.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence

from bot.commands.context import CommandFailure, Services
from bot.commands.model import IssueRef
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.models import Issue, Project
from bot.sentry.pagination import all_pages
from bot.slack.replies.triage import NotChanged

NOT_FOUND = "not found in Sentry"
MAX_PROJECT_PAGES = 10


async def all_projects(services: Services) -> list[Project]:
    return await all_pages(
        lambda cursor: services.sentry.list_projects(cursor=cursor), max_pages=MAX_PROJECT_PAGES
    )


def unknown_project(slug: str, org: str, known: Sequence[str]) -> str:
    """`No project 'wbe' in acme; did you mean web?` (or the projects there are)."""
    close = difflib.get_close_matches(slug, known, n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(close) + "?"
    elif known:
        listed = ", ".join(sorted(known)[:10])
        hint = f"its projects are {listed}{' …' if len(known) > 10 else ''}"
    else:
        hint = "the bot sees no projects there"
    return f"No project '{slug}' in {org}; {hint}"


async def find_project(services: Services, slug: str) -> Project:
    """The project named `slug`, or a CommandFailure naming close matches."""
    try:
        return await services.sentry.get_project(slug)
    except SentryNotFound:
        known = [project.slug for project in await all_projects(services)]
        raise CommandFailure(unknown_project(slug, services.sentry.org, known)) from None


async def find_issues(
    services: Services, refs: Sequence[IssueRef]
) -> tuple[list[Issue], list[NotChanged]]:
    """The issues behind the references, in the order given, and those not found (with why).

    Numeric ids are read in one request (the issue list's `group=`), short ids one by one through
    the org issue route, concurrently. The same issue named twice counts once.
    """
    ids = [ref.value for ref in refs if ref.kind == "id"]
    short = [ref.value for ref in refs if ref.kind == "short_id"]
    by_id: dict[str, Issue] = {}
    if ids:
        by_id.update((issue.id, issue) for issue in await services.sentry.get_issues_by_ids(ids))
    answers = await asyncio.gather(
        *(services.sentry.get_issue(ref) for ref in short), return_exceptions=True
    )
    by_short: dict[str, Issue | str] = {}
    for short_id, answer in zip(short, answers, strict=True):
        if isinstance(answer, Issue):
            by_short[short_id] = answer
        elif isinstance(answer, SentryNotFound):
            by_short[short_id] = NOT_FOUND
        elif isinstance(answer, SentryError):
            by_short[short_id] = str(answer)
        else:
            raise answer
    found: dict[str, Issue] = {}
    missing: list[NotChanged] = []
    for ref in refs:
        hit = by_id.get(ref.value, NOT_FOUND) if ref.kind == "id" else by_short[ref.value]
        if isinstance(hit, Issue):
            found.setdefault(hit.id, hit)
        else:
            missing.append(NotChanged(ref.value, hit))
    return list(found.values()), missing


async def find_issue(services: Services, ref: IssueRef) -> Issue:
    try:
        return await services.sentry.get_issue(ref.value)
    except SentryNotFound:
        raise CommandFailure(f"Issue {ref.value} was not found in Sentry.") from None
