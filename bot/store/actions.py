"""The action log: every triage attempt from Slack, allowed or refused (SPEC §8).

A Slack interaction's `request_key` is unique, so claiming it is how a retried
delivery of the same click (HTTP retry, Socket Mode redelivery) is applied once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import actions


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
