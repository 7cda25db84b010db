"""Readiness: what keeps the app from doing its job right now (`GET /readyz`), and the watches
that keep each credential's verdict current.

A *problem* (Slack or Sentry refuses a credential, or could not be asked yet) makes the app not
ready; a *warning* (no routes yet, a missing optional scope) does not. Each is logged once, when
it appears or changes, with what to do, and once more when it clears: a refused token never
turns into a log line per poll cycle or a traceback per retry.

A `CredentialWatch` runs one check at start, again soon after the service refuses the
credential on some other call (a later `invalid_auth`, a 401), and, while the verdict is not
"ok", quietly with backoff (5 s doubling to 5 min), so a credential that works again is noticed
without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from bot.credentials import Verdict

logger = logging.getLogger(__name__)

FIRST_RECHECK_SECONDS: Final = 5.0
MAX_RECHECK_SECONDS: Final = 300.0


class Readiness:
    """Problems and warnings by subject; `report()` is the body of `GET /readyz`."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self._problems: dict[str, str] = {}
        self._warnings: dict[str, tuple[str, ...]] = {}
        self._on_change = on_change
        # Further facts shown on `/readyz` that never make the app unready, by name.
        self._facts: dict[str, Callable[[], Any]] = {}

    def show(self, name: str, fact: Callable[[], Any]) -> None:
        """Add `name: fact()` to every report (a JSON value, read when reported)."""
        self._facts[name] = fact

    @property
    def ready(self) -> bool:
        return not self._problems

    def problem(self, subject: str) -> str | None:
        return self._problems.get(subject)

    def update(
        self,
        subject: str,
        problem: str | None,
        warnings: Sequence[str] = (),
        *,
        cleared: str | None = None,
        quiet: bool = False,
    ) -> None:
        """Record `subject`'s state; log what changed (and nothing when nothing did).

        `cleared` is logged when a problem goes away; `quiet` records without logging (the
        placeholder shown while a first check is still running).
        """
        was_ready = self.ready
        before = self._problems.get(subject)
        if problem is None:
            self._problems.pop(subject, None)
            if before is not None and cleared and not quiet and not _placeholder(before):
                logger.info("%s", cleared)
        else:
            self._problems[subject] = problem
            if problem != before and not quiet:
                logger.error("%s", problem)
        old_warnings = self._warnings.get(subject, ())
        for warning in warnings:
            if warning not in old_warnings and not quiet:
                logger.warning("%s", warning)
        if warnings:
            self._warnings[subject] = tuple(warnings)
        else:
            self._warnings.pop(subject, None)
        if self.ready != was_ready and self._on_change is not None:
            self._on_change(self.ready)

    def report(self) -> tuple[bool, dict[str, Any]]:
        ready = self.ready
        return ready, {
            "status": "ready" if ready else "not ready",
            "problems": list(self._problems.values()),
            "warnings": [w for subject in self._warnings.values() for w in subject],
            **{name: fact() for name, fact in self._facts.items()},
        }


PLACEHOLDER_PREFIX: Final = "checking "


def _placeholder(problem: str) -> bool:
    return problem.startswith(PLACEHOLDER_PREFIX)


class CredentialWatch:
    """Keeps one credential's verdict in `Readiness` current (see the module docstring)."""

    def __init__(
        self,
        *,
        subject: str,
        check: Callable[[], Awaitable[Verdict]],
        readiness: Readiness,
        checking: str,
        cleared: str,
        first_delay: float = FIRST_RECHECK_SECONDS,
        max_delay: float = MAX_RECHECK_SECONDS,
        min_interval: float | None = None,
    ) -> None:
        self.subject = subject
        self._check = check
        self._readiness = readiness
        self._cleared = cleared
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._min_interval = first_delay if min_interval is None else min_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_check = 0.0
        self.verdict: Verdict | None = None
        self.first_verdict = asyncio.Event()
        readiness.update(subject, f"{PLACEHOLDER_PREFIX}{checking}", quiet=True)

    @property
    def refused(self) -> bool:
        """The service refused the credential at the last check: work needing it is pointless."""
        return self.verdict is not None and self.verdict.refused

    @property
    def good(self) -> bool:
        return self.verdict is not None and self.verdict.outcome == "ok"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"watch {self.subject}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def saw_refusal(self) -> None:
        """The service refused the credential on another call: check again soon."""
        if self.verdict is None or self.good:
            self._wake.set()

    def saw_success(self) -> None:
        """A call with the credential succeeded while it was marked refused: check now."""
        if self.verdict is not None and not self.good:
            self._wake.set()

    async def check_now(self) -> Verdict:
        try:
            verdict = await self._check()
        except Exception as exc:  # a check never takes the watch down
            logger.exception("checking %s failed", self.subject)
            verdict = Verdict("unknown", f"could not check {self.subject} ({type(exc).__name__})")
        self._last_check = time.monotonic()
        self.verdict = verdict
        self._readiness.update(
            self.subject, verdict.problem, verdict.warnings, cleared=self._cleared
        )
        # Answers seen while checking are this check's own; they must not trigger another.
        self._wake.clear()
        self.first_verdict.set()
        return verdict

    async def _run(self) -> None:
        delay = self._first_delay
        await self.check_now()
        while True:
            if self.good:
                delay = self._first_delay
                await self._wake.wait()
                # A burst of refusals right after a good check is one event, not many.
                since = time.monotonic() - self._last_check
                if since < self._min_interval:
                    await asyncio.sleep(self._min_interval - since)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                delay = min(delay * 2, self._max_delay)
            await self.check_now()
