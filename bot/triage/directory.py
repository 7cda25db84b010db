"""The organization's members and teams, cached: identity lookups and assignee search.

One paginated read of `/members/` and `/teams/` serves every click until the cache
expires (default 5 minutes), so a refused or mapped user costs Sentry nothing.
Members are matched by their primary e-mail and every verified e-mail of their
user (Sentry `src/sentry/core/endpoints/organization_member_index.py`, the members list);
pending invites have no user and cannot act.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.sentry.client import SentryClient
from bot.sentry.models import Member, Team
from bot.sentry.pagination import all_pages

MAX_OPTIONS = 100


@dataclass(frozen=True, slots=True)
class Assignable:
    """Someone an issue can be assigned to; `actor` is what Sentry's `assignedTo` takes."""

    actor: str
    label: str
    detail: str


class MemberDirectory:
    def __init__(
        self,
        sentry: SentryClient,
        *,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sentry = sentry
        self._ttl = ttl_seconds
        self._clock = clock
        self._loaded_at: float | None = None
        self._members: tuple[Member, ...] = ()
        self._teams: tuple[Team, ...] = ()
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self._ttl:
            return
        async with self._lock:
            if self._loaded_at is not None and self._clock() - self._loaded_at < self._ttl:
                return
            members = await all_pages(lambda cursor: self._sentry.list_members(cursor=cursor))
            teams = await all_pages(lambda cursor: self._sentry.list_teams(cursor=cursor))
            self._members = tuple(m for m in members if m.user_id and not m.pending)
            self._teams = tuple(teams)
            self._loaded_at = self._clock()

    async def member_by_email(self, email: str) -> Member | None:
        await self._ensure()
        wanted = email.strip().lower()
        for member in self._members:
            if wanted in {e.lower() for e in (member.email, *member.emails) if e}:
                return member
        return None

    async def team_by_slug(self, slug: str) -> Team | None:
        await self._ensure()
        wanted = slug.strip().lower().lstrip("#")
        return next((t for t in self._teams if t.slug.lower() == wanted), None)

    async def team_slugs(self) -> list[str]:
        await self._ensure()
        return [t.slug for t in self._teams]

    async def search(self, query: str, *, limit: int = MAX_OPTIONS) -> list[Assignable]:
        """Members and teams whose name, e-mail or slug contains the text; prefixes first."""
        await self._ensure()
        text = query.strip().lower().lstrip("#@")
        scored: list[tuple[int, str, Assignable]] = []
        for member in self._members:
            keys = [member.name.lower(), member.email.lower()]
            rank = _rank(text, keys)
            if rank is not None:
                item = Assignable(f"user:{member.user_id}", member.name, member.email)
                scored.append((rank, member.name.lower(), item))
        for team in self._teams:
            rank = _rank(text, [team.slug.lower(), team.name.lower()])
            if rank is not None:
                item = Assignable(f"team:{team.id}", f"#{team.slug}", team.name)
                scored.append((rank, team.slug.lower(), item))
        scored.sort(key=lambda entry: (entry[0], entry[1]))
        return [item for _, _, item in scored[:limit]]

    async def label(self, actor: str) -> str:
        """A readable name for `user:<id>` / `team:<id>`, for "Assigned to …" lines."""
        await self._ensure()
        kind, _, ident = actor.partition(":")
        if kind == "user":
            member = next((m for m in self._members if m.user_id == ident), None)
            return member.name if member else "a member"
        team = next((t for t in self._teams if t.id == ident), None)
        return f"#{team.slug}" if team else "a team"


def _rank(text: str, keys: list[str]) -> int | None:
    """0 for a prefix match (of a key or of one of its words), 1 for a substring, else None."""
    if not text:
        return 1
    for key in keys:
        if key.startswith(text) or any(word.startswith(text) for word in key.split()):
            return 0
    if any(text in key for key in keys):
        return 1
    return None
