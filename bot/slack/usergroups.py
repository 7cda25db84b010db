"""The workspace's user groups, for the route form's "notify" picker (Slack docs:
usergroups.list, scope `usergroups:read`; disabled groups are left out unless asked for).

Read once every few minutes; a refusal (`missing_scope` on an installation that has not
approved the scope yet) is logged and leaves the picker empty rather than failing the form.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

TTL_SECONDS = 300.0
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")


@dataclass(frozen=True, slots=True)
class UserGroup:
    id: str
    handle: str
    name: str

    @property
    def label(self) -> str:
        return f"@{self.handle} ({self.name})" if self.name else f"@{self.handle}"


class SlackUserGroups:
    def __init__(
        self, client: AsyncWebClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._clock = clock
        self._groups: tuple[UserGroup, ...] = ()
        self._read_at: float | None = None

    async def _all(self) -> tuple[UserGroup, ...]:
        if self._read_at is not None and self._clock() - self._read_at < TTL_SECONDS:
            return self._groups
        try:
            response = await self._client.usergroups_list()
        except SlackApiError as exc:
            logger.warning("usergroups.list refused: %s", exc.response.get("error"))
            return self._groups
        found: list[UserGroup] = []
        for item in response.get("usergroups") or []:
            if not isinstance(item, dict) or not _GROUP_ID.fullmatch(str(item.get("id") or "")):
                continue
            handle, name = str(item.get("handle") or ""), str(item.get("name") or "")
            found.append(UserGroup(str(item["id"]), handle, name))
        self._groups = tuple(sorted(found, key=lambda g: g.handle.lower()))
        self._read_at = self._clock()
        return self._groups

    async def search(self, text: str, *, limit: int = 100) -> list[UserGroup]:
        """Groups whose handle or name contains `text`, handle prefixes first."""
        needle = text.strip().lower().lstrip("@")
        groups = await self._all()
        first = [g for g in groups if g.handle.lower().startswith(needle)]
        rest = [
            g
            for g in groups
            if g not in first and (needle in g.handle.lower() or needle in g.name.lower())
        ]
        return (first + rest)[:limit]

    async def labels(self, ids: Sequence[str]) -> dict[str, str]:
        """`@handle (name)` for each known id; unknown ids are left out."""
        known = {g.id: g.label for g in await self._all()}
        return {group_id: known[group_id] for group_id in ids if group_id in known}
