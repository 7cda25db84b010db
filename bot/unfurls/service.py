"""Unfurling shared Sentry issue links as compact cards, and redrawing one after a triage click.

A `link_shared` event becomes at most one chat.unfurl carrying a card for every link that names
an issue of this organization, and only when the person who shared it is a mapped Sentry member
of this workspace and not a guest (issue details go to those who may see them), in a channel the
bot is in and that is not shared with another organization. Issues are read from Sentry together,
within `budget` seconds: an issue Sentry does not know, or does not answer for in time, is left
as a plain link; nothing is shown to anyone when Sentry is slow or down. How a card is drawn
(`Draw`, the compact Block Kit builder) and how Slack is told (`UnfurlScreen`) are given by the
composition root.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import Any, Final, Protocol

from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.links import IssueRef, SentryWeb, parse_issue_link
from bot.sentry.models import Issue
from bot.triage.identity import Identity, Need, Refusal
from bot.triage.vocabulary import LastAction
from bot.unfurls.event import SharedLinks, UnfurlTarget

logger = logging.getLogger(__name__)

UNFURL_BUDGET_SECONDS: Final = 5.0
"""How long Sentry may take to answer for the shared issues; Slack shows the message at once and
adds the cards when chat.unfurl arrives, so this only bounds how late a card may appear."""


class Draw(Protocol):
    def __call__(self, issue: Issue, *, last_action: LastAction | None = None) -> Mapping[str, Any]:
        """The compact card for the issue as it is now (`{"text", "blocks"}`)."""
        ...


class UnfurlScreen(Protocol):
    async def unfurl(self, target: UnfurlTarget, unfurls: Mapping[str, Any]) -> str:
        """Attach (or replace) the unfurls of a message; '' when done, else Slack's reason."""
        ...


class Ledger(Protocol):
    """Where unfurls are remembered so they stay current (`bot.unfurls.live.LiveUnfurls`)."""

    async def unfurled(
        self, target: UnfurlTarget, cards: Mapping[str, tuple[Issue, Mapping[str, Any]]]
    ) -> None: ...

    async def tracks(self, channel: str, message_ts: str, url: str) -> bool: ...

    async def forget(self, target: UnfurlTarget) -> None: ...


class Viewers(Protocol):
    async def identify(
        self, *, slack_user: str, slack_team: str, need: Need = "triage"
    ) -> Identity | Refusal: ...


class Unfurler:
    def __init__(
        self,
        *,
        sentry: SentryClient,
        web: SentryWeb,
        viewers: Viewers,
        screen: UnfurlScreen,
        draw: Draw,
        budget: float = UNFURL_BUDGET_SECONDS,
        ledger: Ledger | None = None,
    ) -> None:
        self._ledger = ledger
        self._sentry = sentry
        self.web = web
        self._viewers = viewers
        self._screen = screen
        self._draw = draw
        self._budget = budget
        # A lock lives while someone holds or awaits it, then drops out of the map.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def issue_links(self, urls: tuple[str, ...]) -> dict[str, IssueRef]:
        """The shared urls that name an issue of this organization, with the issue."""
        found: dict[str, IssueRef] = {}
        for url in urls:
            ref = parse_issue_link(url, self.web)
            if ref is not None:
                found[url] = ref
        return found

    async def _record(
        self, shared: SharedLinks, cards: Mapping[str, tuple[Issue, Mapping[str, Any]]]
    ) -> bool:
        """Remember the cards about to be unfurled, to keep them current; False if not."""
        if self._ledger is None:
            return False
        try:
            await self._ledger.unfurled(shared.target, cards)
        except Exception:
            logger.exception(
                "the unfurled cards shared by %s will not be kept current", shared.user
            )
            return False
        return True

    async def links_shared(self, shared: SharedLinks) -> int:
        """Unfurl what may be unfurled; returns how many links got a card."""
        if shared.shared_externally:
            logger.info("links in a channel shared with another organization are not unfurled")
            return 0
        if not shared.bot_in_channel:
            logger.info("links in a channel the bot is not in are not unfurled")
            return 0
        links = self.issue_links(shared.urls)
        if not links:
            return 0
        who = await self._viewers.identify(
            slack_user=shared.user, slack_team=shared.team, need="view"
        )
        if isinstance(who, Refusal):
            logger.info("not unfurling Sentry links shared by %s: %s", shared.user, who.reason)
            return 0
        issues = await self._read(set(links.values()))
        cards = {
            url: (issues[ref], self._draw(issues[ref]))
            for url, ref in links.items()
            if ref in issues
        }
        unfurls = {url: {"blocks": list(card["blocks"])} for url, (_, card) in cards.items()}
        if not unfurls:
            return 0
        # Recorded before Slack shows them, so a click on a card the moment it appears finds
        # it kept current; forgotten again when Slack does not take them.
        recorded = await self._record(shared, cards)
        problem = await self._screen.unfurl(shared.target, unfurls)
        if problem:
            logger.warning("Slack did not take the unfurl of %d link(s): %s", len(unfurls), problem)
            if recorded and self._ledger is not None:
                await self._ledger.forget(shared.target)
            return 0
        logger.info("unfurled %d Sentry link(s) shared by %s", len(unfurls), shared.user)
        return len(unfurls)

    async def _read(self, refs: set[IssueRef]) -> dict[IssueRef, Issue]:
        """The issues Sentry answers for within the budget; the rest are left out."""
        tasks = {ref: asyncio.create_task(self._sentry.get_issue(ref)) for ref in refs}
        done, pending = await asyncio.wait(tasks.values(), timeout=self._budget)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            logger.warning(
                "Sentry did not answer for %d shared issue(s) within %.0f s; left as links",
                len(pending),
                self._budget,
            )
        found: dict[IssueRef, Issue] = {}
        for ref, task in tasks.items():
            if task not in done:
                continue
            error = task.exception()
            if isinstance(error, SentryNotFound):
                logger.info("a shared link names issue %s, which Sentry does not know", ref)
            elif isinstance(error, SentryError):
                logger.warning("could not read shared issue %s from Sentry: %s", ref, error)
            elif error is not None:
                logger.error("reading shared issue %s failed", ref, exc_info=error)
            else:
                found[ref] = task.result()
        return found

    async def redraw(
        self, *, channel: str, ts: str, url: str, issue: Issue, last_action: LastAction | None
    ) -> str:
        """Replace the card unfurled for `url` in the message `channel`/`ts` with the issue as it
        is now: chat.unfurl again on the same message "will modify the same attachments, rather
        than adding more" (Slack docs: chat.unfurl). '' when done, else why not.

        Redraws of one unfurl are serialised and the issue is read again inside, so two clicks
        at once end with what Sentry reports after both; `issue` (as read after the change) is
        drawn when Sentry cannot be read again. An unfurl kept current was already redrawn with
        the issue's other cards (`bot.unfurls.live`), and is left alone here."""
        if parse_issue_link(url, self.web) is None:
            return "the unfurled link is not an issue link of this Sentry organization"
        if self._ledger is not None and await self._ledger.tracks(channel, ts, url):
            return ""
        key = f"{channel}:{ts}:{url}"
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            try:
                current = await self._sentry.get_issue(issue.id)
            except SentryError as exc:
                logger.info("issue %s could not be read again for its unfurl: %s", issue.id, exc)
                current = issue
            card = self._draw(current, last_action=last_action)
            target = UnfurlTarget(channel=channel, ts=ts)
            return await self._screen.unfurl(target, {url: {"blocks": list(card["blocks"])}})
