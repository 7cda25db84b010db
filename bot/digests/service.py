"""The digest use cases behind `/sentry digest`: schedule, remove, describe, post now."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.config_file import validate_cron, validate_timezone
from bot.crontab import crontab_trigger
from bot.digests.runner import DigestRunner, PostOutcome
from bot.digests.scheduler import DigestScheduler
from bot.store.digests import SLACK, Digest, DigestStore

logger = logging.getLogger(__name__)


class DigestService:
    def __init__(
        self,
        *,
        store: DigestStore,
        runner: DigestRunner,
        scheduler: DigestScheduler | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._runner = runner
        self._scheduler = scheduler
        self._clock = clock

    async def _changed(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.sync()

    async def schedule_channel_digest(
        self,
        channel: str,
        *,
        cron: str,
        timezone: str,
        created_by: str | None,
        projects: Sequence[str] = (),
    ) -> Digest:
        """Set the channel's digest schedule (replacing one made from Slack before); `projects`
        empty means the projects routed to the channel.

        Raises ValueError with a sentence for the person when the expression or zone is unusable.
        """
        problem = validate_timezone(timezone)
        if problem is None:
            problem = validate_cron(cron, timezone)
        if problem is None:
            try:
                crontab_trigger(cron, timezone)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            raise ValueError(problem)
        digest = await self._store.set_channel_digest(
            channel,
            cron=cron,
            timezone=timezone,
            created_by=created_by,
            now=self._clock(),
            projects=projects,
        )
        await self._changed()
        return digest

    async def remove_channel_digest(self, channel: str) -> bool:
        """Stop the channel's digest made from Slack; False when it had none (file digests stay)."""
        removed = await self._store.remove_channel_digest(channel)
        if removed:
            await self._changed()
        return removed

    async def describe_channel_digests(self, channel: str) -> list[Digest]:
        """Every digest of the channel, from the file and from Slack."""
        return await self._store.for_channel(channel)

    async def post_digest_now(self, channel: str, *, requested_by: str | None) -> PostOutcome:
        """Post the digest of the period so far; without a schedule, the routed projects'
        last 24 hours."""
        logger.info("digest of %s requested by %s", channel, requested_by or "someone")
        digests = await self._store.for_channel(channel)
        chosen = next((d for d in digests if d.source == SLACK), digests[0] if digests else None)
        return await self._runner.post_now(channel, chosen)
