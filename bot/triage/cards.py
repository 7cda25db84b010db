"""Keeping every card of an issue true to Sentry: re-fetch, re-render with the same builder,
replace the message (never patch single blocks).

Updates of one issue's cards are serialised and the issue is read from Sentry
inside that critical section, so two clicks at once end with the state Sentry
reports after both, not a mix.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from datetime import datetime

from bot.alerts.delivery import card_metadata, card_state_hash
from bot.metrics import Metrics
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryNotFound
from bot.sentry.models import Issue, parse_time
from bot.slack.card import LastAction, build_issue_card
from bot.slack.notifier import Posted, SlackNotifier
from bot.store.cards import POSTED, CardRow, CardStore

logger = logging.getLogger(__name__)


def encode_last_action(action: LastAction) -> str:
    return json.dumps(
        {"user": action.slack_user_id, "verb": action.verb, "at": action.at.isoformat()}
    )


def decode_last_action(text: str | None) -> LastAction | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        at = parse_time(data["at"])
        if at is None:
            return None
        return LastAction(slack_user_id=str(data["user"]), verb=str(data["verb"]), at=at)
    except (ValueError, KeyError, TypeError):
        return None


class CardUpdater:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        cards: CardStore,
        notifier: SlackNotifier,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._sentry = sentry
        self._cards = cards
        self._notifier = notifier
        self._metrics = metrics
        self._clock = clock
        # A lock lives while someone holds or awaits it, then drops out of the map.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def refresh_issue(
        self, issue_id: str, *, last_action: LastAction | None = None
    ) -> Issue | None:
        """Read the issue from Sentry and re-render each of its cards; None if it is gone."""
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
            rows = [
                r
                for r in await self._cards.for_issue(issue_id)
                if r.state == POSTED and r.kind == "card" and r.message_ts
            ]
            for row in rows:
                await self.render(row, issue, last_action=last_action)
        return issue

    async def render(
        self,
        row: CardRow,
        issue: Issue,
        *,
        last_action: LastAction | None = None,
        record: bool = True,
    ) -> bool:
        """Replace one card's message with the issue's current rendering; `record=False`
        leaves storing the new state to the caller (who records more with it)."""
        shown = last_action or decode_last_action(row.last_action)
        message = build_issue_card(issue, last_action=shown)
        assert row.message_ts is not None
        outcome = await self._notifier.update(
            row.channel, row.message_ts, message, metadata=card_metadata(issue.id)
        )
        if not isinstance(outcome, Posted):
            logger.warning(
                "could not update the card of %s in %s: %s", issue.id, row.channel, outcome
            )
            return False
        await self._cards.set_rendered(
            row.id,
            rendered=card_state_hash(issue),
            status=issue.status,
            substatus=issue.substatus,
            now=self._clock(),
            last_action=encode_last_action(last_action) if last_action else None,
        )
        return True
