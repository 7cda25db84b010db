"""The typed `/sentry` commands (README: The `/sentry` command): one frozen dataclass each.

Only `bot.commands.parser` builds these from text, so a handler receives values that are already
validated and normalised (short IDs upper-case, project slugs lower-case, search queries freed of
Slack's `&amp;`/`&lt;`/`&gt;` escaping) and dispatches on the class alone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from bot.sentry.ids import IssueId, ReleaseVersion, ShortId, Slug
from bot.triage.command_words import IGNORE_DEFAULT, RESOLVE_DEFAULT
from bot.triage.vocabulary import Ignore, Resolve

EVERY_PROJECT: Final = "*"
"""What `subscribe *` / `unsubscribe *` name: the channel's route for every project."""

IssueRefKind: TypeAlias = Literal["id", "short_id"]
IssueSort: TypeAlias = Literal["date", "new", "freq", "user"]
AssigneeKind: TypeAlias = Literal["me", "nobody", "slack_user", "email", "team"]
Weekday: TypeAlias = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True, slots=True)
class IssueRef:
    """An issue as a person named it: a numeric `id` or a `short_id` (`WEB-3F`, upper-case).

    Sentry's org-scoped issue routes take either form (Sentry
    `src/sentry/issues/endpoints/bases/group.py`, `GroupEndpoint.convert_args`), so the handler
    resolves a short ID only when it needs the numeric one (bulk updates take `id=`).
    A pasted issue link arrives here as the form its path names.
    """

    kind: IssueRefKind
    value: IssueId | ShortId

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class AssigneeRef:
    """Who an issue goes to; `value` is empty for `me` and `nobody`.

    `slack_user` holds a Slack user ID (`U…`/`W…`) to be mapped to a Sentry member by e-mail,
    `email` an address as typed, `team` a Sentry team slug (lower-case).
    """

    kind: AssigneeKind
    value: str = ""


@dataclass(frozen=True, slots=True)
class CommitRef:
    """A commit attached to a new release: repository `org/repo` and a lower-case hex SHA."""

    repository: str
    sha: str


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """Every help line, or only `topic`'s (a subcommand name such as `ignore`)."""

    topic: str | None = None


@dataclass(frozen=True, slots=True)
class IssuesCommand:
    """Top issues of one project (`None`: every project) matching `query`.

    `query` is the Sentry search string exactly as typed (empty when none was given); the issue
    list has its own default query (Sentry `src/sentry/api/helpers/group_index/index.py`), so
    the handler decides what empty means.
    """

    project: Slug | None
    query: str
    sort: IssueSort | None = None


@dataclass(frozen=True, slots=True)
class IssueCommand:
    issue: IssueRef


@dataclass(frozen=True, slots=True)
class EventsCommand:
    issue: IssueRef


@dataclass(frozen=True, slots=True)
class ResolveCommand:
    """Resolve distinct issues in one bulk request, now or in the next release."""

    issues: tuple[IssueRef, ...]
    resolution: Resolve = RESOLVE_DEFAULT


@dataclass(frozen=True, slots=True)
class UnresolveCommand:
    issues: tuple[IssueRef, ...]


@dataclass(frozen=True, slots=True)
class IgnoreCommand:
    """Archive distinct issues under one condition (default: until escalating)."""

    issues: tuple[IssueRef, ...]
    condition: Ignore = IGNORE_DEFAULT


@dataclass(frozen=True, slots=True)
class AssignCommand:
    issue: IssueRef
    assignee: AssigneeRef


@dataclass(frozen=True, slots=True)
class DeleteCommand:
    """Delete one issue; the handler asks for confirmation and checks the role."""

    issue: IssueRef


@dataclass(frozen=True, slots=True)
class ProjectsCommand:
    pass


@dataclass(frozen=True, slots=True)
class ProjectCommand:
    slug: Slug


@dataclass(frozen=True, slots=True)
class ReleasesCommand:
    """Recent releases of one project, or of every project when `project` is None."""

    project: Slug | None = None


@dataclass(frozen=True, slots=True)
class ReleaseCommand:
    version: ReleaseVersion


@dataclass(frozen=True, slots=True)
class ReleaseCreateCommand:
    """A new release; empty `projects` leaves the choice to the handler (Sentry needs one)."""

    version: ReleaseVersion
    projects: tuple[Slug, ...] = ()
    commits: tuple[CommitRef, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    """Route new issues of `project` (or `EVERY_PROJECT`) matching `query` to the channel.

    An empty `query` means the route default (`is:unresolved`, README: Routes and digests file).
    """

    project: str
    query: str = ""

    @property
    def every_project(self) -> bool:
        return self.project == EVERY_PROJECT


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    """Remove the route for `project` (`EVERY_PROJECT` included), or all routes when None."""

    project: str | None = None

    @property
    def projects(self) -> tuple[str, ...] | None:
        """None for every route of the channel; () for the every-project route; else the one."""
        if self.project is None:
            return None
        return () if self.project == EVERY_PROJECT else (self.project,)


@dataclass(frozen=True, slots=True)
class SubscriptionsCommand:
    pass


@dataclass(frozen=True, slots=True)
class DigestShowCommand:
    """Show the channel's digest schedule."""


@dataclass(frozen=True, slots=True)
class DigestNowCommand:
    """Send the channel's digest now."""


@dataclass(frozen=True, slots=True)
class DigestOffCommand:
    """Stop the channel's scheduled digest."""


@dataclass(frozen=True, slots=True)
class DigestScheduleCommand:
    """A daily (`weekday` None) or weekly digest at `at`, in `timezone` (None: not given).

    `timezone` is a canonical IANA name; the handler picks the default (UTC or the person's own).
    """

    at: datetime.time
    weekday: Weekday | None = None
    timezone: str | None = None

    @property
    def cron(self) -> str:
        """The five-field crontab stored with digests; day names avoid the 0=Sunday
        versus 0=Monday ambiguity between crontab and apscheduler."""
        return f"{self.at.minute} {self.at.hour} * * {self.weekday or '*'}"


Command: TypeAlias = (
    HelpCommand
    | IssuesCommand
    | IssueCommand
    | EventsCommand
    | ResolveCommand
    | UnresolveCommand
    | IgnoreCommand
    | AssignCommand
    | DeleteCommand
    | ProjectsCommand
    | ProjectCommand
    | ReleasesCommand
    | ReleaseCommand
    | ReleaseCreateCommand
    | SubscribeCommand
    | UnsubscribeCommand
    | SubscriptionsCommand
    | DigestShowCommand
    | DigestNowCommand
    | DigestOffCommand
    | DigestScheduleCommand
)
