"""Posting what the outbox owes, exactly once: claim, post, record; settle lost answers.

Every producer (cards and storm summaries, thread replies, digests, and any later kind of
message) hands `send` a `Draft`: the owed rows one message settles, its kind, and a render
function called only once the rows are claimed. The message carries its kind and every key
it settles in its metadata (`bot/outbox/metadata.py`). The post ends one of three ways
(`bot/slack/answers.py`): `Posted` records the ts and the kind of message; `Refused` makes
the rows owed again (or `refused`, for messages not worth retrying), and a rate limit parks
the channel on the `Stalls` board so other channels carry on; `Uncertain` leaves the rows in
`posting`, since a second copy is worse than a late one.

`reconcile` settles rows left in `posting` from where their post would be, channel history
or thread, read through one function (`SlackNotifier.read_back`, joining a public channel if
need be): a row whose key a message of the bot's carries is recorded as posted, as the kind
of message that carries it (so a storm summary stays a summary of all its issues); any other
is owed again. A channel that cannot be read settles nothing (never guess) and is surfaced
on `/healthz` after a few attempts. Rows this process is still posting are never touched;
other processes' claims only once older than `claimed_before`.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from bot.metrics import Metrics
from bot.outbox import metadata
from bot.outbox.store import OutboxRow, OutboxStore
from bot.slack.notifier import Outcome, Posted, Refused, SlackNotifier, Unreadable

logger = logging.getLogger(__name__)

# How far before a claim the history is searched for the post it may have made.
HISTORY_MARGIN: Final = timedelta(minutes=2)
# By default, another process's claim older than this is abandoned (its post has long
# returned, or the process died) and is settled.
SETTLE_AFTER: Final = timedelta(minutes=2)

Message = Mapping[str, Any]
Render = Callable[[], Awaitable[Message]]
Describe = Callable[[OutboxRow], str]


def drawn(build: Callable[[], Message]) -> Render:
    """The render function of a message built without I/O (a Block Kit builder call)."""

    async def render() -> Message:
        return build()

    return render


@dataclass(frozen=True, slots=True)
class Draft:
    """One message for `rows` (owed, one channel): `kind` names it in its metadata, `about`
    adds informational metadata fields; `retry_refused=False` closes rows Slack refuses.
    `render_claimed`, when given, draws the message for the keys this process actually
    claimed (another process may hold some of `rows`), so a message listing several rows
    never lists one it does not settle."""

    kind: str
    rows: Sequence[OutboxRow]
    render: Render
    thread_ts: str | None = None
    broadcast: bool = False
    about: metadata.About | None = None
    retry_refused: bool = True
    render_claimed: Callable[[Sequence[str]], Awaitable[Message]] | None = None


@dataclass(frozen=True, slots=True)
class NotClaimed:
    """Another process (or an earlier run) has these rows: nothing was posted here."""


Sent = Outcome | NotClaimed


class Outbox:
    """Sends drafts and settles interrupted posts; one per process, shared by producers."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        notifier: SlackNotifier,
        metrics: Metrics,
        clock: Callable[[], datetime],
        settle_after: timedelta = SETTLE_AFTER,
    ) -> None:
        self.store = store
        self.settle_after = settle_after
        self._notifier = notifier
        self._metrics = metrics
        self._clock = clock
        self._token = uuid.uuid4().hex
        self._posting: set[int] = set()

    def limited_until(self, channel: str) -> datetime | None:
        """When Slack's rate limit on `channel` ends; None when it may be posted to now."""
        return self._notifier.stalls.limited_until(channel)

    async def send(self, draft: Draft) -> Sent:
        """Claim the draft's rows, render and post the message, and record what happened."""
        claimed = await self.store.claim(
            [r.id for r in draft.rows],
            token=self._token,
            now=self._clock(),
            thread_ts=draft.thread_ts,
        )
        rows = [r for r in draft.rows if r.id in claimed]
        if not rows:
            return NotClaimed()
        ids = [r.id for r in rows]
        self._posting.update(ids)
        try:
            try:
                if draft.render_claimed is not None:
                    message = await draft.render_claimed([r.key for r in rows])
                else:
                    message = await draft.render()
                meta = metadata.encode(draft.kind, [r.key for r in rows], draft.about)
            except BaseException as exc:
                await self.store.release(ids, error=f"not rendered: {type(exc).__name__}")
                raise
            outcome = await self._notifier.post(
                rows[0].channel,
                message,
                metadata=meta,
                thread_ts=draft.thread_ts,
                reply_broadcast=draft.broadcast,
            )
            if isinstance(outcome, Posted):
                await self.store.mark_posted(
                    ids, ts=outcome.ts, posted_as=draft.kind, now=self._clock()
                )
                self._metrics.cards_posted.labels(draft.kind).inc()
            elif isinstance(outcome, Refused):
                if draft.retry_refused or outcome.retry_after is not None:
                    await self.store.release(ids, error=outcome.error)
                else:
                    await self.store.refuse(ids, error=outcome.error)
            else:
                # Left in `posting`: reconciliation reads the channel back.
                logger.warning(
                    "post to %s may or may not have reached Slack (%s); will reconcile",
                    rows[0].channel,
                    outcome.reason,
                )
            return outcome
        finally:
            self._posting.difference_update(ids)

    async def replace(self, channel: str, ts: str, *, kind: str, key: str, message: Message) -> str:
        """Replace a posted message (keeping its metadata); '' when done, else why not."""
        outcome = await self._notifier.update(
            channel, ts, message, metadata=metadata.encode(kind, [key])
        )
        if isinstance(outcome, Posted):
            return ""
        return outcome.error if isinstance(outcome, Refused) else outcome.reason

    def abandoned_before(self) -> datetime:
        """Other processes' claims older than this moment are settled by `reconcile`."""
        return self._clock() - self.settle_after

    async def reconcile(
        self, *, producer: str, claimed_before: datetime | None, describe: Describe
    ) -> None:
        """Settle `producer`'s rows left in `posting`: posted if a message of the bot's carries
        them, owed again if not. `claimed_before=None` (at start, when nothing of this process
        is in flight) settles every claim; usually it is `abandoned_before()`. `describe` names
        what a row is about in logs ("issue 42"; on `/healthz`, "card of issue 42")."""
        in_flight = await self.store.in_flight(producer=producer)
        stalls = self._notifier.stalls
        stalls.retain(producer, (str(r.id) for r in in_flight))
        places: dict[tuple[str, str | None], list[OutboxRow]] = defaultdict(list)
        for row in in_flight:
            if row.id in self._posting:
                continue  # this process is still waiting for Slack's answer
            if (
                claimed_before is None
                or row.claim_token == self._token
                or (row.claimed_at is not None and row.claimed_at < claimed_before)
            ):
                places[(row.channel, row.thread_ts)].append(row)
        for (channel, thread_ts), rows in places.items():
            since = min(r.claimed_at or r.due_at for r in rows) - HISTORY_MARGIN
            found = await self.carried(channel, since=since, thread_ts=thread_ts)
            if isinstance(found, Unreadable):
                for row in rows:
                    stalls.settle_failed(
                        producer,
                        str(row.id),
                        channel=channel,
                        what=f"{producer} of {describe(row)}",
                        reason=found.reason,
                    )
                continue
            now = self._clock()
            for row in rows:
                stalls.settled(producer, str(row.id))
                posted = found.get(row.key)
                if posted is not None:
                    ts, kind = posted
                    await self.store.mark_posted([row.id], ts=ts, posted_as=kind, now=now)
                    logger.info("reconciled %s in %s: already posted", describe(row), channel)
                else:
                    await self.store.release([row.id], error="not found after interrupted post")
                    logger.info("reconciled %s in %s: will post", describe(row), channel)

    async def carried(
        self, channel: str, *, since: datetime, thread_ts: str | None = None
    ) -> dict[str, tuple[str, str]] | Unreadable:
        """Key -> (ts, kind of message) for every key the bot's messages there carry: the
        channel history since a moment, or a whole thread."""
        messages = await self._notifier.read_back(channel, since=since, thread_ts=thread_ts)
        if isinstance(messages, Unreadable):
            return messages
        found: dict[str, tuple[str, str]] = {}
        for message in messages:
            carried = metadata.decode(message.event_type, message.payload)
            if carried is not None:
                for key in carried.keys:
                    found.setdefault(key, (message.ts, carried.kind))
        return found
