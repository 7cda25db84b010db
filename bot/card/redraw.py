"""Keeping every card of an issue true to Sentry: re-fetch, redraw with the same builder,
replace the message (never patch single blocks).

Updates of one issue's cards are serialised and the issue is read from Sentry inside that
critical section, so two clicks at once end with the state Sentry reports after both, not a
mix. How a card is drawn (`Draw`, the Block Kit builder) and how a message is replaced
(`Screen`, the outbox) are given by the composition root: this module knows no Slack.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.card.state import CARD, card_key, decode_last_action, encode_last_action
from bot.card.state import revision as card_revision
from bot.card.store import CardRow, CardStore
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryNotFound
from bot.sentry.models import Issue
from bot.triage.vocabulary import LastAction

logger = logging.getLogger(__name__)


class Draw(Protocol):
    def __call__(self, issue: Issue, *, last_action: LastAction | None = None) -> Mapping[str, Any]:
        """A card's message for the issue as it is now."""
        ...


class Screen(Protocol):
    async def replace(
        self, channel: str, ts: str, *, kind: str, key: str, message: Mapping[str, Any]
    ) -> str:
        """Replace a posted message; '' when done, else why not."""
        ...


class UnfurledCards(Protocol):
    """The issue's cards unfurled under people's messages (`bot.unfurls.live.LiveUnfurls`)."""

    async def redraw(self, issue: Issue, *, last_action: LastAction | None = None) -> int: ...


class CardUpdater:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        cards: CardStore,
        screen: Screen,
        draw: Draw,
        clock: Callable[[], datetime],
        unfurls: UnfurledCards | None = None,
    ) -> None:
        self._sentry = sentry
        self._unfurls = unfurls
        self._cards = cards
        self._screen = screen
        self._draw = draw
        self._clock = clock
        # A lock lives while someone holds or awaits it, then drops out of the map.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def refresh_issue(
        self, issue_id: str, *, last_action: LastAction | None = None
    ) -> Issue | None:
        """Read the issue from Sentry and redraw each of its cards; None if it is gone."""
        lock = self._locks.get(issue_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[issue_id] = lock
        async with lock:
            try:
                issue = await self._sentry.get_issue(issue_id)
            except SentryNotFound:
                logger.info(
                    "issue %s no longer exists in Sentry; its cards stay as they are", issue_id
                )
                return None
            for row in await self._cards.for_issue(issue_id):
                if row.shown_as_card:
                    await self.render(row, issue, last_action=last_action)
            await self.redraw_unfurls(issue, last_action=last_action)
        return issue

    async def redraw_unfurls(self, issue: Issue, *, last_action: LastAction | None = None) -> int:
        """Redraw the issue's unfurled cards that do not show it as it is now; how many."""
        if self._unfurls is None:
            return 0
        try:
            return await self._unfurls.redraw(issue, last_action=last_action)
        except Exception:
            logger.exception("could not redraw the unfurled cards of issue %s", issue.id)
            return 0

    async def render(
        self,
        row: CardRow,
        issue: Issue,
        *,
        last_action: LastAction | None = None,
        record: bool = True,
    ) -> bool:
        """Replace one card's message with the issue's current drawing; `record=False`
        leaves storing the new state to the caller (who records more with it)."""
        if not row.shown_as_card or row.message_ts is None:
            return False  # a storm summary lists the issue: it is never replaced by its card
        shown = last_action or decode_last_action(row.last_action)
        problem = await self._screen.replace(
            row.channel,
            row.message_ts,
            kind=CARD,
            key=card_key(issue.id),
            message=self._draw(issue, last_action=shown),
        )
        if problem:
            logger.warning(
                "could not update the card of %s in %s: %s", issue.id, row.channel, problem
            )
            return False
        if record:
            await self._cards.set_rendered(
                [row.id],
                rendered=card_revision(issue),
                status=issue.status,
                substatus=issue.substatus,
                now=self._clock(),
                last_action=encode_last_action(last_action) if last_action else None,
            )
        return True
