"""`/healthz`: assembled from the parts that can fail while the process runs (database,
scheduler, poll leadership, the last cycle's problems, Slack channels held back, Socket Mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts.poller import Poller
from bot.leadership import Leadership
from bot.slack.notifier import SlackNotifier


async def database_check(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


class Health:
    """The answer to `GET /healthz`: ready (HTTP 200) once started, with the database reachable
    and the scheduler running; what is degraded is listed either way."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        scheduler: AsyncIOScheduler,
        leadership: Leadership,
        poller: Poller,
        notifier: SlackNotifier,
        mode: str,
    ) -> None:
        self._engine = engine
        self._scheduler = scheduler
        self._leadership = leadership
        self._poller = poller
        self._notifier = notifier
        self._mode = mode
        self.started = False
        # Set once Socket Mode is in use: what to report while it is not connected.
        self.socket_problem: Callable[[], Awaitable[str | None]] | None = None

    async def report(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {
            "database": await database_check(self._engine),
            "scheduler": "ok" if self._scheduler.running else "stopped",
            "mode": self._mode,
            "poller": "leader" if self._leadership.leader else "standby",
        }
        if self._poller.last_success:
            checks["last_poll"] = self._poller.last_success.isoformat()
        degraded = sorted(self._poller.problems.values()) + self._notifier.stalls.problems()
        if self.socket_problem is not None:
            problem = await self.socket_problem()
            if problem is not None:
                degraded.append(problem)
        ready = self.started and checks["database"] == "ok" and checks["scheduler"] == "ok"
        return ready, {
            "status": "ok" if ready else "starting",
            "checks": checks,
            "degraded": degraded,
        }
