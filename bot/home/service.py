"""Drawing one person's Home tab: who they are in Sentry, their issues, routes and digests.

Per open: the person's identity (the triage resolver's caches: Slack profile, Sentry members),
their teams (member details), and one Sentry search per list, sorted by last activity
(`sort=date`), 20 each. Sentry's `assigned:me` and `assigned:my_teams` mean the token's own
user, which for an integration token is the integration, not the person; so the searches name
the person by e-mail (`assigned:ana@acme.test`) and their teams by slug
(`assigned:[#backend, #web]`), which Sentry resolves through `parse_actor_or_none_value` /
`find_users` (Sentry `src/sentry/search/utils.py`). The two lists are kept per person for a
short while (`ttl_seconds`), so opening the tab again costs Sentry nothing; a triage from the
tab forgets them first. Someone who cannot be matched to a Sentry member, or when Sentry does
not answer, gets a tab saying why and what to do instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.home.view import (
    DigestRow,
    HomeContent,
    HomeProblem,
    IssueSection,
    RouteRow,
    build_home,
    build_home_problem,
)
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError
from bot.sentry.models import Issue
from bot.slack.replies.links import SentryLinks
from bot.store.digests import SLACK, DigestStore
from bot.store.routes import RouteStore
from bot.triage.identity import Identity, IdentityResolver, Refusal

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

PER_SECTION = 20
SORT = "date"  # last seen first (Sentry issue search `sort=date`)
CACHE_TTL_SECONDS = 60.0
CACHE_PEOPLE_MAX = 2000
GUEST = (
    "Guests of this workspace cannot see Sentry issues here. Ask a workspace admin for a full "
    "account, or open Sentry in the browser."
)
_SEARCH_VALUE = re.compile(r"[^\s\"\[\],()]{1,254}")
_TEAM_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")


class HomeScreen(Protocol):
    """Where a Home view goes (`views.publish`, bot.slack.home_screen)."""

    async def publish(self, slack_user: str, view: JSON) -> None: ...


@dataclass(frozen=True, slots=True)
class PersonIssues:
    """What the tab lists for one person, kept for `ttl_seconds`."""

    at: float
    sentry_user_id: str
    mine: IssueSection
    teams: IssueSection | None
    team_names: tuple[str, ...]


def mine_query(email: str) -> str | None:
    """`is:unresolved assigned:<e-mail>`; None for an address Sentry's search could not take."""
    if not _SEARCH_VALUE.fullmatch(email):
        return None
    return f"is:unresolved assigned:{email}"


def teams_query(slugs: Sequence[str]) -> str | None:
    valid = [slug for slug in slugs if _TEAM_SLUG.fullmatch(slug)]
    if not valid:
        return None
    return "is:unresolved assigned:[" + ", ".join(f"#{slug}" for slug in valid) + "]"


def _still_listed(issue: Issue, *, user_id: str | None, teams: frozenset[str]) -> bool:
    if issue.status != "unresolved" or issue.assigned_to is None:
        return False
    if user_id is not None:
        return issue.assigned_to.kind == "user" and issue.assigned_to.id == user_id
    return issue.assigned_to.kind == "team" and issue.assigned_to.name.lower() in teams


def overlay(
    section: IssueSection,
    changed: Sequence[Issue],
    *,
    user_id: str | None = None,
    teams: frozenset[str] = frozenset(),
) -> IssueSection:
    """The section with the issues just changed from Slack as Sentry now reports them: one
    that no longer belongs here (resolved, reassigned) leaves it, even if the search index has
    not caught up yet."""
    by_id = {issue.id: issue for issue in changed}
    kept: list[Issue] = []
    dropped = 0
    for issue in section.issues:
        fresh = by_id.get(issue.id, issue)
        if issue.id in by_id and not _still_listed(fresh, user_id=user_id, teams=teams):
            dropped += 1
            continue
        kept.append(fresh)
    return replace(section, issues=tuple(kept), total=max(section.total - dropped, len(kept)))


class HomeService:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        identities: IdentityResolver,
        routes: RouteStore,
        digests: DigestStore,
        screen: HomeScreen,
        links: SentryLinks,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sentry = sentry
        self._identities = identities
        self._routes = routes
        self._digests = digests
        self._screen = screen
        self._links = links
        self._ttl = ttl_seconds
        self._clock = clock
        self._people: OrderedDict[str, PersonIssues] = OrderedDict()
        # One lock per person who opened the tab, so two opens at once search Sentry once.
        self._locks: dict[str, asyncio.Lock] = {}

    def forget(self, slack_user: str) -> None:
        """Drop what is kept for this person: the next draw searches Sentry again."""
        self._people.pop(slack_user, None)

    async def show(
        self,
        *,
        slack_user: str,
        slack_team: str,
        notice: str | None = None,
        changed: Sequence[Issue] = (),
    ) -> None:
        """Draw the person's tab and publish it."""
        view = await self.view_for(
            slack_user=slack_user, slack_team=slack_team, notice=notice, changed=changed
        )
        await self._screen.publish(slack_user, view)

    async def view_for(
        self,
        *,
        slack_user: str,
        slack_team: str,
        notice: str | None = None,
        changed: Sequence[Issue] = (),
    ) -> JSON:
        try:
            who = await self._identities.resolve(slack_user=slack_user, slack_team=slack_team)
        except SentryError as exc:
            return build_home_problem(sentry_down(exc, notice))
        if isinstance(who, Refusal):
            return build_home_problem(refused(who.reason, notice))
        if await self._identities.is_guest(slack_user):
            return build_home_problem(refused(GUEST, notice))
        try:
            person = await self._issues(who)
        except SentryError as exc:
            logger.warning("the Home tab of %s could not be listed: %s", slack_user, exc)
            return build_home_problem(sentry_down(exc, notice))
        mine, teams = person.mine, person.teams
        if changed:
            mine = overlay(mine, changed, user_id=who.sentry_user_id)
            if teams is not None:
                names = frozenset(name.lower() for name in person.team_names)
                teams = overlay(teams, changed, teams=names)
        content = HomeContent(
            mine=mine,
            teams=teams,
            team_names=person.team_names,
            routes=await self._route_rows(),
            digests=await self._digest_rows(),
            notice=notice,
        )
        return build_home(content)

    async def _issues(self, who: Identity) -> PersonIssues:
        lock = self._locks.setdefault(who.slack_user, asyncio.Lock())
        async with lock:
            kept = self._people.get(who.slack_user)
            if kept is not None and self._clock() - kept.at < self._ttl:
                return kept
            person = await self._search(who)
            self._people[who.slack_user] = person
            self._people.move_to_end(who.slack_user)
            while len(self._people) > CACHE_PEOPLE_MAX:
                self._people.popitem(last=False)
            return person

    async def _search(self, who: Identity) -> PersonIssues:
        member_email = who.member.email or who.email
        mine = await self._section(mine_query(member_email))
        details = await self._sentry.get_member_teams(who.member.id)
        names = tuple(slug for slug in details.teams if _TEAM_SLUG.fullmatch(slug))
        teams = await self._section(teams_query(names)) if names else None
        return PersonIssues(self._clock(), who.sentry_user_id, mine, teams, names)

    async def _section(self, query: str | None) -> IssueSection:
        if query is None:
            return IssueSection(issues=(), total=0, more_url="")
        page = await self._sentry.list_issues(query=query, sort=SORT, limit=PER_SECTION)
        total = page.hits if page.hits is not None else len(page.items)
        return IssueSection(
            issues=page.items, total=total, more_url=self._links.issues(query=query, sort=SORT)
        )

    async def _route_rows(self) -> list[RouteRow]:
        return [
            RouteRow(
                id=route.id,
                channel=route.channel,
                projects=route.projects,
                query=route.query,
                environment=route.environment,
                mention=route.mention,
                editable=route.source == "slack",
            )
            for route in await self._routes.all()
        ]

    async def _digest_rows(self) -> list[DigestRow]:
        return [
            DigestRow(
                id=digest.id,
                channel=digest.channel,
                cron=digest.cron,
                timezone=digest.timezone,
                projects=digest.projects,
                editable=digest.source == SLACK,
            )
            for digest in await self._digests.all()
        ]


def refused(reason: str, notice: str | None = None) -> HomeProblem:
    return HomeProblem(
        title="Your Sentry issues cannot be shown here",
        reason=reason,
        advice=(
            "Until then, open Sentry in the browser to see your issues; the cards the app "
            "posts in channels show everyone the same issues."
        ),
        notice=notice,
    )


def sentry_down(error: SentryError, notice: str | None = None) -> HomeProblem:
    return HomeProblem(
        title="Sentry is not answering right now",
        reason=f"The app could not read your issues from Sentry: {error}",
        advice="Nothing is lost: try again in a minute with the button below.",
        notice=notice,
    )
