"""What a `/sentry` use case gets and gives: the invocation, the services, the reply.

Use cases return data (a message dict, maybe a modal to open); the Slack listener decides how to
deliver it (response_url, views.open), so nothing here imports Bolt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.routing import RoutingService
from bot.sentry.client import SentryClient
from bot.slack.replies.links import SentryLinks
from bot.slack.reply_actions import QueryRef
from bot.store.routes import RouteStore
from bot.triage.service import TriageService

JSON = dict[str, Any]


class CommandFailure(Exception):
    """The command could not be carried out; `message` says why, in words for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Invocation:
    """One run of a command: who, where, the text as sent, and for a re-run the page and mode.

    `shared` marks a re-run for "Share in channel": the answer is posted for everyone, without
    the controls that only make sense to the person who asked.
    """

    user_id: str
    team_id: str
    channel_id: str
    text: str
    trigger_id: str = ""
    cursor: str | None = None
    offset: int = 0
    shared: bool = False

    def share_ref(self) -> QueryRef | None:
        return None if self.shared else QueryRef(self.text, self.cursor, self.offset)

    @property
    def shared_by(self) -> str | None:
        return self.user_id if self.shared else None


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the person (`answer` when it answers a query and may be shared), and/or a
    modal to open with the command's trigger_id."""

    message: JSON | None = None
    modal: JSON | None = None
    answer: bool = False


class DigestSchedule(Protocol):
    @property
    def cron(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def projects(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str: ...


class Digests(Protocol):
    """The digest use cases `/sentry digest` calls (bot.digests.service.DigestService)."""

    async def schedule_channel_digest(
        self, channel: str, *, cron: str, timezone: str, created_by: str | None
    ) -> DigestSchedule: ...

    async def remove_channel_digest(self, channel: str) -> bool: ...

    async def describe_channel_digests(self, channel: str) -> Sequence[DigestSchedule]: ...

    async def post_digest_now(self, channel: str, *, requested_by: str | None) -> object: ...


@dataclass(frozen=True, slots=True)
class Services:
    sentry: SentryClient
    triage: TriageService
    routes: RouteStore
    links: SentryLinks
    digests: Digests | None
    clock: Callable[[], datetime]
    routing: RoutingService | None = None
