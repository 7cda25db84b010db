"""Keeping unfurled cards current: every card the app unfurled is redrawn when its issue changes.

Each unfurl Slack took is recorded (`UnfurlStore`). When an issue's revision (status, substatus,
assignee: `bot.card.state.revision`) differs from what an unfurl shows, its message gets one
chat.unfurl carrying every unfurl of that message (Slack docs: chat.unfurl, "Subsequent attempts
with the same `ts` and `channel` values will modify the same attachments, rather than adding
more"; the other unfurls are sent again with the blocks they show, so none is lost whichever way
Slack replaces them). An unfurl already showing the revision is left alone; two replicas drawing
the same revision at once draw the same card, which is harmless. A message Slack will not let
the app unfurl any more (deleted, channel gone or archived, link edited out, scope withdrawn) is
forgotten, logged once. Unfurls older than the retention window are no longer kept current.

Changes are noticed by the card refresh each poll cycle (`bot.alerts.freshness`, which reads the
issue states of tracked cards and of these unfurls in the same batch), and at once after triage
and on a Sentry webhook, through the card updater (`bot.card.redraw.CardUpdater`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from bot.card.batch import batch_size
from bot.card.state import decode_last_action, encode_last_action
from bot.card.state import revision as card_revision
from bot.sentry.models import Issue, IssueState
from bot.triage.vocabulary import LastAction
from bot.unfurls.event import UnfurlTarget
from bot.unfurls.service import Draw, UnfurlScreen
from bot.unfurls.store import NewUnfurl, TrackedUnfurl, UnfurlRow, UnfurlStore

logger = logging.getLogger(__name__)

# How often the unfurls are counted (and the old ones forgotten) while none is recorded here:
# an idle cycle asks the database nothing about unfurls in between. One recorded by this
# process is counted at the next cycle; one recorded by another replica within this time.
RECOUNT_EVERY: Final = timedelta(seconds=60)
COMPOSER: Final = "COMPOSER"

# chat.unfurl errors that mean the message will not take this redraw however often it is sent
# (Slack docs: chat.unfurl errors; `missing_scope` is read as `SlackUnfurls` words it): the
# message or channel is gone, the link was edited out, or Slack refuses the card itself. Others
# (rate limits, Slack unreachable, a token refused for every call) are tried again next cycle.
_GONE: Final = frozenset(
    {
        "cannot_find_message",
        "cannot_find_channel",
        "channel_not_found",
        "is_archived",
        "cannot_unfurl_message",
        "cannot_unfurl_url",
        "invalid_blocks",
        "cannot_parse_attachment",
        "invalid_unfurls_format",
    }
)


def gone(problem: str) -> bool:
    """Whether Slack's answer means the unfurl can never be redrawn."""
    return problem in _GONE or problem.startswith("missing_scope")


def _blocks(card: Mapping[str, Any]) -> str:
    return json.dumps(list(card["blocks"]), separators=(",", ":"))


class LiveUnfurls:
    def __init__(
        self,
        *,
        store: UnfurlStore,
        screen: UnfurlScreen,
        draw: Draw,
        clock: Callable[[], datetime],
        retention: timedelta,
    ) -> None:
        self._store = store
        self._screen = screen
        self._draw = draw
        self._clock = clock
        self._retention = retention
        # One redraw of a message at a time in this process: each carries all its unfurls.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._total = 0
        self._counted_at: datetime | None = None
        # Bumped after each record: a count that ran while one was being recorded may have
        # missed it, so it is not trusted for RECOUNT_EVERY (see `due`).
        self._recorded = 0

    @staticmethod
    def trackable(target: UnfurlTarget) -> bool:
        """A sent message (not a link still in someone's composer) can be redrawn later."""
        return (
            bool(target.channel and target.ts)
            and target.channel != COMPOSER
            and (target.source != "composer")
        )

    async def unfurled(
        self, target: UnfurlTarget, cards: Mapping[str, tuple[Issue, Mapping[str, Any]]]
    ) -> None:
        """Remember the cards chat.unfurl just took under a message (url → issue, card)."""
        channel, ts = target.channel, target.ts
        if not (channel and ts and self.trackable(target) and cards):
            return
        await self._store.record(
            [
                NewUnfurl(
                    channel=channel,
                    message_ts=ts,
                    unfurl_id=target.unfurl_id,
                    source=target.source,
                    url=url,
                    issue_id=issue.id,
                    rendered=card_revision(issue),
                    blocks=_blocks(card),
                )
                for url, (issue, card) in cards.items()
            ],
            now=self._clock(),
        )
        # Counted again at the next cycle; after the record is committed, so that count sees it.
        self._recorded += 1
        self._counted_at = None

    async def forget(self, target: UnfurlTarget) -> None:
        """Slack did not take the cards just recorded for this message: keep none of them."""
        if target.channel and target.ts:
            await self._store.drop_message(target.channel, target.ts)

    async def tracks(self, channel: str, message_ts: str, url: str) -> bool:
        return await self._store.find(channel, message_ts, url) is not None

    async def follows(self, issue_id: str) -> bool:
        return await self._store.follows(issue_id)

    async def due(self) -> list[TrackedUnfurl]:
        """The unfurls to compare with Sentry this cycle (old ones are forgotten when counted)."""
        now = self._clock()
        if self._counted_at is None or now - self._counted_at >= RECOUNT_EVERY:
            recorded = self._recorded
            pruned = await self._store.prune(before=now - self._retention)
            if pruned:
                logger.info(
                    "%d unfurled card(s) older than the retention are no longer kept", pruned
                )
            self._total = await self._store.count()
            # An unfurl recorded while counting may be missing from the count: count again
            # next cycle rather than trust it for a minute.
            self._counted_at = now if recorded == self._recorded else None
        if not self._total:
            return []
        limit = batch_size(self._total)
        return await self._store.tracked(limit=limit)

    @staticmethod
    def changed(
        shown: Sequence[TrackedUnfurl], states: Mapping[str, Issue | IssueState]
    ) -> set[str]:
        """The issues whose unfurls show another revision than Sentry's."""
        return {
            u.issue_id
            for u in shown
            if (state := states.get(u.issue_id)) is not None and card_revision(state) != u.rendered
        }

    async def settle(self, shown: Sequence[TrackedUnfurl], issues: Mapping[str, Issue]) -> int:
        """Redraw the compared unfurls whose issue changed; the others were checked now. How
        many unfurls were redrawn."""
        stale = {
            u.issue_id
            for u in shown
            if u.issue_id in issues and card_revision(issues[u.issue_id]) != u.rendered
        }
        await self._store.mark_checked(
            [u.id for u in shown if u.issue_id not in stale], now=self._clock()
        )
        redrawn = 0
        for issue_id in sorted(stale):
            redrawn += await self.redraw(issues[issue_id])
        return redrawn

    async def redraw(self, issue: Issue, *, last_action: LastAction | None = None) -> int:
        """Redraw every unfurl of the issue that does not show it as it is now (and, after a
        triage action, the action); one chat.unfurl per message. How many unfurls were
        redrawn."""
        shown = card_revision(issue)
        action = encode_last_action(last_action) if last_action else None
        messages: dict[tuple[str, str], list[UnfurlRow]] = {}
        for row in await self._store.for_issue(issue.id):
            if row.rendered != shown or (action is not None and row.last_action != action):
                messages.setdefault((row.channel, row.message_ts), []).append(row)
        redrawn = 0
        for channel, ts in messages:
            redrawn += await self._redraw_message(channel, ts, issue, last_action)
        return redrawn

    async def _redraw_message(
        self, channel: str, ts: str, issue: Issue, last_action: LastAction | None
    ) -> int:
        key = f"{channel}:{ts}"
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            rows = await self._store.for_message(channel, ts)  # read again inside the lock
            mine = [r for r in rows if r.issue_id == issue.id]
            if not mine:
                return 0
            shown = last_action or decode_last_action(mine[0].last_action)
            blocks = _blocks(self._draw(issue, last_action=shown))
            unfurls = {
                r.url: {"blocks": json.loads(blocks if r.issue_id == issue.id else r.blocks)}
                for r in rows
            }
            first = rows[0]
            target = UnfurlTarget(
                channel=channel, ts=ts, unfurl_id=first.unfurl_id, source=first.source
            )
            problem = await self._screen.unfurl(target, unfurls)
            if problem and gone(problem):
                dropped = await self._store.drop_message(channel, ts)
                logger.warning(
                    "no longer keeping %d unfurled card(s) in %s current: %s",
                    dropped,
                    channel,
                    problem,
                )
                return 0
            if problem:
                logger.warning(
                    "could not redraw the unfurled card of issue %s in %s: %s; tried again later",
                    issue.id,
                    channel,
                    problem,
                )
                return 0
            await self._store.drawn(
                [r.id for r in mine],
                rendered=card_revision(issue),
                blocks=blocks,
                last_action=encode_last_action(last_action) if last_action else None,
                now=self._clock(),
            )
            return len(mine)
