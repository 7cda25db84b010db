"""Attribution: each triage action taken in Slack leaves a comment on the issue in Sentry naming
the person ("Resolved in Slack by Ana Lima (ana@acme.test)"), one per issue.

The comment is written in the background once the action is applied, so the person's answer
never waits for it, and is bounded (`timeout` per comment, at most `max_pending` waiting).
It never changes the action's outcome: a failure is logged and counted
(`sentry_slack_comments{outcome="failed"}`), and Sentry's duplicate guard (400 "You have already
posted that comment.": same author, same text, within the hour, Sentry
`issues/endpoints/group_notes.py`) means the same sentence is already on the issue, so it
counts as done. `SENTRY_ACTIVITY_NOTES=false` turns attribution off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.conversation.store import CommentStore
from bot.conversation.texts import attribution
from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError, already_posted
from bot.sentry.ids import IssueId

logger = logging.getLogger(__name__)


class CommentWriter:
    """Writes the app's comments in Sentry and remembers them as its own (never echoed)."""

    def __init__(
        self,
        *,
        sentry: SentryClient,
        store: CommentStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._sentry = sentry
        self._store = store
        self._clock = clock
        # Texts being written now, by issue: Sentry may list a comment before its POST's
        # answer is recorded, and the comment is this app's all the same.
        self._writing: dict[str, list[str]] = {}

    def writing(self, issue_id: str) -> frozenset[str]:
        """The texts this process is writing on the issue right now."""
        return frozenset(self._writing.get(issue_id, ()))

    async def write(self, issue_id: IssueId, text: str) -> bool:
        """Add the comment; False when Sentry says this author posted it within the hour
        (it is there already). Other failures raise `SentryError`."""
        self._writing.setdefault(issue_id, []).append(text.strip())
        try:
            return await self._write(issue_id, text)
        finally:
            texts = self._writing[issue_id]
            texts.remove(text.strip())
            if not texts:
                del self._writing[issue_id]

    async def _write(self, issue_id: IssueId, text: str) -> bool:
        try:
            comment = await self._sentry.add_comment(issue_id, text)
        except SentryError as exc:
            if already_posted(exc):
                return False
            raise
        await self._store.record_own(
            comment_id=comment.id,
            issue_id=issue_id,
            author_id=comment.author_id,
            now=self._clock(),
        )
        return True


class ActivityNotes:
    """Attribution comments, written after the action, in the background, bounded."""

    def __init__(
        self,
        *,
        writer: CommentWriter,
        metrics: Metrics,
        enabled: bool,
        timeout: float = 30.0,
        max_pending: int = 500,
        concurrency: int = 4,
    ) -> None:
        self._writer = writer
        self._metrics = metrics
        self.enabled = enabled
        self._timeout = timeout
        self._max_pending = max_pending
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: set[asyncio.Task[None]] = set()

    def note(self, *, issue_ids: Sequence[str], verb: str, name: str, email: str) -> None:
        """Leave "<verb> in Slack by <name> (<email>)" on each issue, without waiting."""
        if not self.enabled:
            return
        text = attribution(verb, name=name, email=email)
        for raw in issue_ids:
            issue_id = IssueId.parse(raw)
            if issue_id is None:
                continue
            if len(self._pending) >= self._max_pending:
                self._metrics.comments.labels("dropped").inc()
                logger.warning("too many activity comments waiting; none left on issue %s", raw)
                continue
            task = asyncio.get_running_loop().create_task(self._post(issue_id, text))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _post(self, issue_id: IssueId, text: str) -> None:
        async with self._slots:
            try:
                async with asyncio.timeout(self._timeout):
                    written = await self._writer.write(issue_id, text)
            except (SentryError, TimeoutError) as exc:
                self._metrics.comments.labels("failed").inc()
                logger.warning(
                    "could not leave the activity comment on issue %s: %s", issue_id, exc
                )
                return
            except Exception:
                self._metrics.comments.labels("failed").inc()
                logger.exception("could not leave the activity comment on issue %s", issue_id)
                return
        if written:
            self._metrics.comments.labels("noted").inc()
        else:
            self._metrics.comments.labels("duplicate").inc()
            logger.info("issue %s already has this activity comment (Sentry: duplicate)", issue_id)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self, within: float) -> None:
        """Wait up to `within` seconds for comments still being written (shutdown)."""
        if not self._pending:
            return
        _, left = await asyncio.wait(set(self._pending), timeout=within)
        for task in left:
            task.cancel()
        if left:
            logger.warning("stopped with %d activity comments not written", len(left))
