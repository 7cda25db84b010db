"""`/sentry issues`, `issue` and `events`: searching and reading issues."""

from __future__ import annotations

import asyncio
import re

from bot.commands.context import Invocation, Reply, Services
from bot.commands.lookup import find_issue, find_project
from bot.commands.model import EventsCommand, IssueCommand, IssuesCommand
from bot.sentry.errors import SentryError, SentryNotFound
from bot.slack.replies.issues import (
    ISSUES_PAGE_SIZE,
    build_event_list,
    build_issue_detail,
    build_issue_list,
)
from bot.slack.reply_actions import QueryRef

DEFAULT_QUERY = "is:unresolved"
DEFAULT_SORT = "date"
_STATUS_TERM = re.compile(r"(?:^|\s)!?is:", re.IGNORECASE)


def effective_query(query: str) -> str:
    """The search sent to Sentry: as typed, unresolved unless the person says which status.

    Without `query` Sentry applies a default of its own, not `is:unresolved` (newer versions:
    `is:unresolved issue.priority:[high, medium]`; Sentry
    `src/sentry/api/helpers/group_index/index.py`, `build_query_params_from_request`), so the
    query is always sent.
    """
    query = query.strip()
    if not query:
        return DEFAULT_QUERY
    return query if _STATUS_TERM.search(query) else f"{DEFAULT_QUERY} {query}"


async def issues(command: IssuesCommand, invocation: Invocation, services: Services) -> Reply:
    query = effective_query(command.query)
    sort = command.sort or DEFAULT_SORT
    project_id = None
    if command.project is not None:
        project_id = (await find_project(services, command.project)).id
    page = await services.sentry.list_issues(
        query=query,
        sort=sort,
        projects=[project_id] if project_id else (),
        cursor=invocation.cursor,
        limit=ISSUES_PAGE_SIZE,
    )
    more = None
    if page.next_cursor and page.items:
        more = QueryRef(invocation.text, page.next_cursor, invocation.offset + len(page.items))
    message = build_issue_list(
        page.items,
        query=query,
        project=command.project,
        sort=sort,
        offset=invocation.offset,
        total=page.hits,
        search_url=services.links.issues(query=query, sort=sort, project_id=project_id),
        share=invocation.share_ref(),
        more=more,
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)


async def issue(command: IssueCommand, invocation: Invocation, services: Services) -> Reply:
    found, latest = await asyncio.gather(
        find_issue(services, command.issue),
        services.sentry.latest_event(command.issue.value),
        return_exceptions=True,
    )
    if isinstance(found, BaseException):
        raise found
    event = None
    problem = None
    if isinstance(latest, SentryNotFound):
        problem = "No event is stored for this issue (events age out after the retention period)."
    elif isinstance(latest, SentryError):
        problem = f"The latest event could not be read: {latest}"
    elif isinstance(latest, BaseException):
        raise latest
    else:
        event = latest
    message = build_issue_detail(
        found,
        event,
        event_problem=problem,
        share=invocation.share_ref(),
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)


async def events(command: EventsCommand, invocation: Invocation, services: Services) -> Reply:
    found, page = await asyncio.gather(
        find_issue(services, command.issue),
        services.sentry.list_issue_events(command.issue.value),
        return_exceptions=True,
    )
    if isinstance(found, BaseException):
        raise found
    if isinstance(page, BaseException):
        raise page
    message = build_event_list(
        found,
        page.items,
        has_more=page.next_cursor is not None,
        events_url=found.permalink.rstrip("/") + "/events/",
        share=invocation.share_ref(),
        shared_by=invocation.shared_by,
    )
    return Reply(message, answer=True)
