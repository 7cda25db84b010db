""" "Send to Sentry": a person posts one Slack message to an issue as a comment.

Never automatic: only the message a Sentry member picked the shortcut on leaves Slack. On a
message in a card's thread the issue is the card's; elsewhere the person names it. The
comment says who wrote the message, where, its permalink and its text as plain text
(`bot/conversation/texts.py`), and who sent it. Sentry's duplicate guard (the same text by
the same author within the hour) means it is there already: a second send is answered as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.commands.model import IssueCommand
from bot.commands.parser import CommandError, parse
from bot.conversation.notes import CommentWriter
from bot.conversation.store import CommentStore
from bot.conversation.texts import mentioned_users, sent_message, slack_to_plain
from bot.sentry.client import SentryClient
from bot.sentry.errors import SentryError, SentryNotFound
from bot.sentry.ids import IssueId
from bot.sentry.models import Issue
from bot.triage.identity import Identity, Refusal

# Mentions whose names are looked up for one message; the rest keep their ids.
MAX_NAMED_USERS = 20
# Issues offered by the picker's search (Slack allows 100 options).
PICKER_OPTIONS = 20


class SlackMessageReader(Protocol):
    """Slack's side (`bot.slack.messages.SlackMessages`)."""

    async def permalink(self, channel: str, ts: str) -> str | None: ...

    async def name(self, slack_user: str) -> str | None: ...


Identify = Callable[..., Awaitable[Identity | Refusal]]


@dataclass(frozen=True, slots=True)
class ShortcutMessage:
    """The message a shortcut was used on, as the payload carries it."""

    channel: str
    channel_name: str
    ts: str
    thread_ts: str | None
    text: str
    author: str | None  # a user id; None for bot messages
    author_name: str = ""  # bot messages carry a `username` instead


@dataclass(frozen=True, slots=True)
class Sent:
    issue_id: IssueId
    again: bool = False  # Sentry already had it (sent twice within the hour)


@dataclass(frozen=True, slots=True)
class NotSent:
    reason: str


class SendToSentry:
    def __init__(
        self,
        *,
        identify: Identify,
        sentry: SentryClient,
        store: CommentStore,
        writer: CommentWriter,
        slack: SlackMessageReader,
    ) -> None:
        self._identify = identify
        self._sentry = sentry
        self._store = store
        self._writer = writer
        self._slack = slack

    async def member(self, *, slack_user: str, slack_team: str) -> Identity | Refusal:
        """Who is sending; only Sentry members may (the same rule as triage)."""
        return await self._identify(slack_user=slack_user, slack_team=slack_team)

    async def card_issue(self, message: ShortcutMessage) -> IssueId | None:
        """The issue of the card whose thread the message is in (or the card itself)."""
        found = await self._store.issue_of_thread(message.channel, message.thread_ts or message.ts)
        return IssueId.parse(found) if found is not None else None

    async def search(self, text: str) -> list[Issue]:
        """Unresolved issues matching what the person typed in the picker (Sentry search)."""
        words = " ".join(text.split())[:200]
        page = await self._sentry.list_issues(
            query=f"is:unresolved {words}".strip(), limit=PICKER_OPTIONS
        )
        return list(page.items)

    async def find(self, typed: str) -> Issue | NotSent:
        """The issue a typed short ID, numeric ID or issue link names (the `/sentry` parser's
        forms), read from Sentry."""
        try:
            command = parse(
                f"issue {typed.strip()}",
                sentry_web_host=self._sentry.web_base,
                sentry_org=self._sentry.org,
            )
        except CommandError as exc:
            return NotSent(exc.message)
        if not isinstance(command, IssueCommand):
            return NotSent("Give one short ID (WEB-3F), issue number or issue link.")
        try:
            return await self._sentry.get_issue(command.issue.value)
        except SentryNotFound:
            return NotSent(f"No issue {command.issue.value} in Sentry.")
        except SentryError as exc:
            return NotSent(f"Could not look the issue up in Sentry: {exc}")

    async def send(
        self, *, who: Identity, message: ShortcutMessage, issue_id: IssueId
    ) -> Sent | NotSent:
        """Write the message on the issue as a comment, on behalf of `who`."""
        text = await self.comment_text(who=who, message=message)
        try:
            written = await self._writer.write(issue_id, text)
        except SentryError as exc:
            return NotSent(f"Could not send it to Sentry: {exc}")
        return Sent(issue_id, again=not written)

    async def comment_text(self, *, who: Identity, message: ShortcutMessage) -> str:
        users = mentioned_users(message.text)[:MAX_NAMED_USERS]
        if message.author and message.author not in users:
            users.append(message.author)
        found = await asyncio.gather(*(self._slack.name(user) for user in users))
        names = {user: name for user, name in zip(users, found, strict=True) if name}
        author = message.author_name or "someone"
        if message.author:
            author = names.get(message.author) or message.author
        permalink = await self._slack.permalink(message.channel, message.ts)
        return sent_message(
            author=author,
            channel=message.channel_name,
            permalink=permalink or "",
            text=slack_to_plain(message.text, names),
            sender=who.member.name,
            sender_email=who.member.email or who.email,
        )
