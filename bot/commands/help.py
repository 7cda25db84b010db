"""Help for `/sentry`: one line per subcommand with its syntax, what it does and an example.

The text is plain: `<issue…>` and the like contain `<` and `>`, so whoever puts it in mrkdwn
escapes it first (`bot.slack.escape`), like any other text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from bot.triage.command_words import ignore_syntax, resolve_syntax

COMMAND = "/sentry"


@dataclass(frozen=True, slots=True)
class HelpLine:
    """One subcommand's help; `name` is what follows `/sentry` (`release create` has two words)."""

    name: str
    syntax: str
    summary: str
    example: str

    def __str__(self) -> str:
        return f"{COMMAND} {self.syntax} — {self.summary}. Example: {COMMAND} {self.example}"


HELP_LINES: Final[tuple[HelpLine, ...]] = (
    HelpLine("help", "help [command]", "list every command, or explain one", "help ignore"),
    HelpLine(
        "issues",
        "issues [project|*] [search terms…] [--sort date|new|freq|user]",
        "top unresolved issues with triage controls; the first word is a project when it looks"
        " like a project slug",
        "issues web is:unassigned --sort freq",
    ),
    HelpLine(
        "issue",
        "issue <ID | SHORT-ID | issue link>",
        "an issue's card and its latest event",
        "issue WEB-3F",
    ),
    HelpLine("events", "events <issue>", "recent events of an issue", "events 4506842918"),
    HelpLine(
        "resolve",
        f"resolve <issue…> {resolve_syntax()}",
        "resolve up to 100 issues at once, now or in the next release",
        "resolve WEB-3F WEB-3G --next-release",
    ),
    HelpLine(
        "unresolve",
        "unresolve <issue…>",
        "reopen resolved or archived issues",
        "unresolve WEB-3F",
    ),
    HelpLine(
        "ignore",
        f"ignore <issue…> [{ignore_syntax()}]",
        "archive issues until they escalate (the default), forever, for up to 30 days, or until"
        " N more events or users",
        "ignore WEB-3F WEB-3G 2h",
    ),
    HelpLine(
        "assign",
        "assign <issue> <me | @person | e-mail | #team | none>",
        "assign an issue, or unassign it with none",
        "assign WEB-3F #backend",
    ),
    HelpLine(
        "delete",
        "delete <issue>",
        "delete an issue and its events after you confirm; Sentry admins only",
        "delete WEB-3F",
    ),
    HelpLine("projects", "projects", "the organization's projects", "projects"),
    HelpLine("project", "project <slug>", "one project's details", "project web"),
    HelpLine(
        "releases",
        "releases [project]",
        "recent releases of every project or of one",
        "releases web",
    ),
    HelpLine("release", "release <version>", "a release's details", "release 2.4.1"),
    HelpLine(
        "release create",
        "release create <version> [project…] [--commit org/repo@sha]…",
        "create a release for projects, with commits; Sentry admins only",
        "release create 2.4.1 web api --commit acme/web@1a2b3c4",
    ),
    HelpLine(
        "subscribe",
        "subscribe <project|*> [search terms…]",
        "post new issues of a project (* for every project) in this channel",
        "subscribe web level:error",
    ),
    HelpLine(
        "unsubscribe",
        "unsubscribe [project|*]",
        "stop posting a project's issues here; alone, every subscription of this channel",
        "unsubscribe web",
    ),
    HelpLine(
        "subscriptions",
        "subscriptions",
        "this channel's subscriptions and digest",
        "subscriptions",
    ),
    HelpLine(
        "digest",
        "digest [now | daily HH:MM [tz] | weekly DAY HH:MM [tz] | off]",
        "show, send, schedule or stop this channel's digest; tz is an IANA name",
        "digest weekly mon 09:00 Europe/Berlin",
    ),
)

HELP_BY_NAME: Final[Mapping[str, HelpLine]] = MappingProxyType(
    {line.name: line for line in HELP_LINES}
)


def help_lines(topic: str | None) -> tuple[HelpLine, ...]:
    """The lines `/sentry help [topic]` shows: the topic's, or all for none or an unknown one."""
    line = HELP_BY_NAME.get(topic) if topic is not None else None
    return (line,) if line is not None else HELP_LINES


def usage(name: str) -> str:
    """The help line of subcommand `name`; for an unknown name, the one of `help`."""
    return str(HELP_BY_NAME.get(name.lower(), HELP_BY_NAME["help"]))


def help_text() -> str:
    """Every help line, one per line, in the order of the spec."""
    return "\n".join(str(line) for line in HELP_LINES)
