"""Running `/sentry`: parse the text, dispatch on the command's class, turn failures into replies.

The table maps each command class to its use case (one module per area: `issues`, `triage`,
`catalog`, `subscriptions`). Input that is not a command gets its error and help line; a
Sentry error or a `CommandFailure` gets its sentence. Anything else propagates to the listener,
which logs it and tells the person that something went wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from bot.commands import catalog, issues, subscriptions, triage
from bot.commands.context import CommandFailure, Invocation, Reply, Services
from bot.commands.help import help_lines
from bot.commands.model import (
    AssignCommand,
    Command,
    DeleteCommand,
    DigestNowCommand,
    DigestOffCommand,
    DigestScheduleCommand,
    DigestShowCommand,
    EventsCommand,
    HelpCommand,
    IgnoreCommand,
    IssueCommand,
    IssuesCommand,
    ProjectCommand,
    ProjectsCommand,
    ReleaseCommand,
    ReleaseCreateCommand,
    ReleasesCommand,
    ResolveCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnresolveCommand,
    UnsubscribeCommand,
)
from bot.commands.parser import CommandError, parse
from bot.sentry.errors import SentryError
from bot.slack.replies.common import error_reply, help_reply, notice

UseCase = Callable[[Any, Invocation, Services], Awaitable[Reply]]


async def show_help(command: HelpCommand, invocation: Invocation, services: Services) -> Reply:
    return Reply(help_reply(help_lines(command.topic), command.topic))


USE_CASES: Final[Mapping[type[Any], UseCase]] = {
    HelpCommand: show_help,
    IssuesCommand: issues.issues,
    IssueCommand: issues.issue,
    EventsCommand: issues.events,
    ResolveCommand: triage.resolve,
    UnresolveCommand: triage.unresolve,
    IgnoreCommand: triage.ignore,
    AssignCommand: triage.assign,
    DeleteCommand: triage.delete,
    ProjectsCommand: catalog.projects,
    ProjectCommand: catalog.project,
    ReleasesCommand: catalog.releases,
    ReleaseCommand: catalog.release,
    ReleaseCreateCommand: catalog.release_create,
    SubscribeCommand: subscriptions.subscribe,
    UnsubscribeCommand: subscriptions.unsubscribe,
    SubscriptionsCommand: subscriptions.subscriptions,
    DigestShowCommand: subscriptions.digest_show,
    DigestNowCommand: subscriptions.digest_now,
    DigestOffCommand: subscriptions.digest_off,
    DigestScheduleCommand: subscriptions.digest_schedule,
}


class CommandRunner:
    def __init__(self, services: Services) -> None:
        self.services = services

    def parse(self, text: str) -> Command:
        return parse(
            text, sentry_web_host=self.services.sentry.web_base, sentry_org=self.services.sentry.org
        )

    async def run(self, command: Command, invocation: Invocation) -> Reply:
        use_case = USE_CASES[type(command)]
        try:
            return await use_case(command, invocation, self.services)
        except CommandFailure as exc:
            return Reply(notice(exc.message))
        except SentryError as exc:
            return Reply(notice(str(exc)))

    async def run_text(self, invocation: Invocation) -> Reply:
        """Parse and run the invocation's text; input that is not a command gets help."""
        try:
            command = self.parse(invocation.text)
        except CommandError as exc:
            return Reply(error_reply(exc.message, exc.usage))
        return await self.run(command, invocation)
