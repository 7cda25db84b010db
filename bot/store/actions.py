"""The action log: every triage attempt from Slack, allowed or refused.

A Slack interaction's `request_key` is unique, so claiming it is how a retried
delivery of the same click (HTTP retry, Socket Mode redelivery) is applied once.

`action` holds the triage vocabulary's stable kind (`resolve.now`, `ignore.duration`,
`assign.user`, `delete`, `refused`; README "Triage from the card") and `arg` what the kind
leaves open (minutes, a count, an actor). Rows written before the kinds existed hold the
action's class name in lower case (`resolve`, `ignore`, `assign`, `unresolve`) with the detail
in `arg` (`next_release`, `duration:120`, `nobody`); they are read into the same kinds
(`legacy_kind`), and left as they are on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import actions

# Class-name rows: (action, arg) → (kind, arg). Each old row names exactly one kind.
_LEGACY_RESOLVE: Final = {
    "now": "resolve.now",
    "next_release": "resolve.next_release",
    "current_release": "resolve.current_release",
}
_LEGACY_IGNORE_MODES: Final = frozenset(
    {"until_escalating", "forever", "duration", "events", "users"}
)


def legacy_kind(action: str, arg: str) -> tuple[str, str]:
    """The kind and arg a row means; rows already written with kinds come back unchanged."""
    if action == "resolve" and arg in _LEGACY_RESOLVE:
        return _LEGACY_RESOLVE[arg], ""
    if action == "ignore":
        mode, _, amount = arg.partition(":")
        if mode in _LEGACY_IGNORE_MODES:
            return f"ignore.{mode}", amount
    if action == "assign":
        if arg == "nobody":
            return "assign.none", ""
        return ("assign.team" if arg.startswith("team:") else "assign.user"), arg
    return action, arg


@dataclass(frozen=True, slots=True)
class ActionRecord:
    at: datetime
    source: str
    slack_user: str
    slack_team: str
    sentry_user: str | None
    issue_ids: tuple[str, ...]
    action: str
    arg: str
    result: str
    detail: str


class ActionLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, request_key: str, *, at: datetime, slack_user: str, action: str) -> bool:
        """Reserve one interaction; False when it was already seen (a retried delivery)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    sa.insert(actions).values(
                        at=at,
                        source="pending",
                        slack_user=slack_user,
                        action=action,
                        result="pending",
                        request_key=request_key,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def record(
        self,
        *,
        at: datetime,
        source: str,
        slack_user: str,
        slack_team: str,
        sentry_user: str | None,
        issue_ids: Sequence[str],
        action: str,
        arg: str,
        result: str,
        detail: str = "",
        request_key: str | None = None,
    ) -> None:
        """Write the outcome; fills in the row reserved by `claim` when there is one."""
        values = {
            "at": at,
            "source": source,
            "slack_user": slack_user,
            "slack_team": slack_team,
            "sentry_user": sentry_user,
            "issue_ids": ",".join(issue_ids)[:2000],
            "action": action,
            "arg": arg[:200],
            "result": result,
            "detail": detail[:500],
        }
        async with self._engine.begin() as conn:
            if request_key is not None:
                updated = await conn.execute(
                    sa.update(actions).where(actions.c.request_key == request_key).values(**values)
                )
                if updated.rowcount:
                    return
            await conn.execute(sa.insert(actions).values(**values, request_key=request_key))

    async def recent(self, limit: int = 100) -> list[ActionRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(actions).order_by(actions.c.id.desc()).limit(limit))
            records: list[ActionRecord] = []
            for r in rows:
                action, arg = legacy_kind(r.action, r.arg)
                records.append(
                    ActionRecord(
                        at=r.at,
                        source=r.source,
                        slack_user=r.slack_user,
                        slack_team=r.slack_team,
                        sentry_user=r.sentry_user,
                        issue_ids=tuple(i for i in r.issue_ids.split(",") if i),
                        action=action,
                        arg=arg,
                        result=r.result,
                        detail=r.detail,
                    )
                )
            return records
