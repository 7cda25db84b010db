"""Text of a `/sentry` slash command → one typed command, or a `CommandError`.

Pure: no I/O, no clock, no settings; the one outside fact, the Sentry web host that issue links
must point to, is a parameter. The text is what Slack sends with `should_escape: true`
(Slack docs: slash commands, escaping): typed mentions, channels and links arrive as `<@U…|name>`,
`<#C…|name>`, `<https://…|label>`, `<mailto:…|…>`, and a literal `&`, `<`, `>` as `&amp;`, `&lt;`,
`&gt;`. So every `<…>` in the text is one of Slack's sequences and is kept as one argument.

Design choices, all visible in the help text or the errors:

- Arguments are separated by whitespace; `"…"` keeps spaces inside one argument (Sentry search
  syntax quotes the same way). Typographic quotes and dashes (“ ” —), which some keyboards put in
  place of `"` and `--`, count as the plain ones.
- Search terms go to Sentry as typed: the original quoting and spacing is kept, Slack's sequences
  are turned back into what the person typed (`<#C1|backend>` → `#backend`) and unescaped.
- `ignore` durations are `<N>m`, `<N>h`, `<N>d` or `<N>w`, from 1 minute to 30 days (longer is
  `forever`); counts are `<N>events` / `<N>users` (or `N events`) from 1 to 1,000,000.
- Bulk commands take at most `MAX_BULK_ISSUES` distinct issues, duplicates dropped in order.
- Every error names the offending part and carries the subcommand's help line.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from bot.commands.help import HELP_BY_NAME, usage
from bot.commands.model import (
    EVERY_PROJECT,
    AssignCommand,
    AssigneeRef,
    Command,
    CommitRef,
    DeleteCommand,
    DigestNowCommand,
    DigestOffCommand,
    DigestScheduleCommand,
    DigestShowCommand,
    EventsCommand,
    HelpCommand,
    IgnoreCommand,
    IssueCommand,
    IssueRef,
    IssuesCommand,
    IssueSort,
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
    Weekday,
)
from bot.sentry.ids import (
    BAD_VERSION_CHARACTERS,
    MAX_VERSION_LENGTH,
    RESERVED_VERSIONS,
    InvalidId,
    IssueId,
    ReleaseVersion,
    ShortId,
    Slug,
)
from bot.sentry.links import SentryWeb, read_issue_link
from bot.triage.command_words import (
    COUNT_NOUNS,
    IGNORE_DEFAULT,
    RESOLVE_SWITCHES,
    WordError,
    ignore_from_word,
    looks_like_ignore_word,
    resolve_from_switches,
)
from bot.triage.vocabulary import Ignore

MAX_TEXT_LENGTH: Final = 4_000
MAX_ARGUMENT_LENGTH: Final = 1_000
# One reply lists every issue of a bulk action; Sentry itself would take 1,000 (Sentry API docs:
# "Bulk Mutate a List of Issues").
MAX_BULK_ISSUES: Final = 100

ALIASES: Final[Mapping[str, str]] = {"archive": "ignore"}

_ISSUE_ID = re.compile(r"[1-9][0-9]{0,19}")
# `PROJECT-SLUG-COUNTER` (Sentry docs examples: `PUMP-STATION-1`, `FRONT-END-9`), any case.
_SHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-[A-Za-z0-9]+")
# Sentry slugs: lower-case letters, digits, `-` and `_`, not only digits.
_SLUG = re.compile(r"(?![0-9]+$)[a-z0-9][a-z0-9_-]{0,99}")
_SLACK_SEQUENCE = re.compile(r"<([^<>]*)>")
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#[CG][A-Z0-9]{2,20}(?:\|([^<>]*))?>")
_SLACK_MAILTO = re.compile(r"<mailto:([^|<>]+)(?:\|[^<>]*)?>")
_SLACK_USER_GROUP = re.compile(r"<!subteam\^[^<>]*>")
_EMAIL = re.compile(r"[^@\s<>|\"]{1,64}@[^@\s<>|\"]+\.[^@\s<>|\"]+")
_TIME_OF_DAY = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")
_SHA = re.compile(r"[0-9a-fA-F]{7,40}")
_TYPOGRAPHIC = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"'})
_DASH_PREFIXES = ("--", "—", "–")  # noqa: RUF001 - em and en dash typed in place of `--`

_SORTS: Final[Mapping[str, IssueSort]] = {
    "date": "date",
    "new": "new",
    "freq": "freq",
    "user": "user",
}
_WEEKDAYS: Final[Mapping[str, Weekday]] = {
    "mon": "mon",
    "tue": "tue",
    "wed": "wed",
    "thu": "thu",
    "fri": "fri",
    "sat": "sat",
    "sun": "sun",
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_SHOWN_LENGTH = 60
_ISSUE_FORMS = "a numeric ID (4506842918), a short ID (WEB-3F) or an issue link"


class CommandError(Exception):
    """Input that is not a command: `message` names the bad part, `usage` is its help line.

    Both are plain text that may quote what the person typed; escape them before mrkdwn.
    """

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True, slots=True)
class _Token:
    """One argument as sent, with its place in the text (for rebuilding search queries)."""

    text: str
    start: int
    end: int
    index: int


def _sentry_web(host: str, org: str) -> SentryWeb:
    """This Sentry's web UI from the setting: a host (`sentry.io`, `sentry.example.com:9000`) or
    a base URL; ValueError when it names no host."""
    text = host.strip()
    base = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise ValueError(f"sentry_web_host {host!r} is not a host name") from None
    if not parts.hostname:
        raise ValueError(f"sentry_web_host {host!r} is not a host name")
    return SentryWeb.from_base_url(base, org)


@dataclass(frozen=True, slots=True)
class _Options:
    """Arguments split into positional ones, present switches and option values."""

    positional: tuple[_Token, ...]
    switches: frozenset[str]
    values: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Arguments:
    """What a subcommand parser gets: its name (for usage), its arguments, and the context."""

    name: str
    tokens: tuple[_Token, ...]
    text: str
    web: SentryWeb = field(repr=False)

    def error(self, message: str) -> CommandError:
        return CommandError(message, usage(self.name))

    def options(
        self, *, switches: Iterable[str] = (), valued: Mapping[str, str] | None = None
    ) -> _Options:
        """Split `--switch` and `--option value` / `--option=value` from positional arguments.

        `valued` maps each option taking a value to a hint shown when the value is missing.
        """
        allowed_switches = frozenset(switches)
        valued = valued or {}
        positional: list[_Token] = []
        present: set[str] = set()
        values: dict[str, list[str]] = {}
        remaining = list(self.tokens)
        while remaining:
            token = remaining.pop(0)
            option = _option(token.text)
            if option is None:
                positional.append(token)
                continue
            name, inline = option
            if name in allowed_switches:
                if inline is not None:
                    raise self.error(f"{name} takes no value")
                present.add(name)
            elif name in valued:
                if inline is None:
                    if not remaining or _option(remaining[0].text) is not None:
                        raise self.error(f"{name} needs a value: {valued[name]}")
                    inline = remaining.pop(0).text
                values.setdefault(name, []).append(inline)
            else:
                raise self.error(_unknown_option(name, [*allowed_switches, *valued]))
        return _Options(
            positional=tuple(positional),
            switches=frozenset(present),
            values={name: tuple(found) for name, found in values.items()},
        )

    def positional(self) -> tuple[_Token, ...]:
        """The arguments of a subcommand that has no options."""
        return self.options().positional

    def at_most(self, tokens: Sequence[_Token], count: int) -> None:
        if len(tokens) > count:
            raise self.error(f"unexpected {_shown(tokens[count].text)}")

    def query(self, tokens: Sequence[_Token]) -> str:
        """Search terms as typed: original spacing between adjacent terms, one space where an
        option was taken out, Slack's sequences and escapes undone."""
        pieces: list[str] = []
        for previous, token in zip((None, *tokens), tokens, strict=False):
            if previous is not None:
                adjacent = token.index == previous.index + 1
                pieces.append(self.text[previous.end : token.start] if adjacent else " ")
            pieces.append(token.text)
        return _as_typed("".join(pieces))


def parse(text: str, *, sentry_web_host: str, sentry_org: str) -> Command:
    """Parse the text after `/sentry` into a command; raise `CommandError` for anything else.

    `sentry_web_host` is this Sentry's web host (`sentry.io`, `sentry.example.com:9000`, or a base
    URL); issue links elsewhere are refused. Empty text is a request for help. A
    `sentry_web_host` that is not a host at all is a programming error (ValueError).
    """
    web = _sentry_web(sentry_web_host, sentry_org)
    _check_text(text)
    text = text.translate(_TYPOGRAPHIC)
    tokens = _tokenize(text)
    if not tokens:
        return HelpCommand()
    name = tokens[0].text.lower()
    name = ALIASES.get(name, name)
    subcommand = _SUBCOMMANDS.get(name)
    if subcommand is None:
        raise _unknown_subcommand(tokens[0].text, web)
    return subcommand(_Arguments(name, tokens[1:], text, web))


# ---- text and tokens -------------------------------------------------------------------------


def _shown(text: str) -> str:
    """An argument quoted in an error as the person typed it (Slack's encoding undone)."""
    return _quoted(_as_typed(text))


def _quoted(value: str) -> str:
    """A value quoted in an error, cut so that a long one cannot flood the reply."""
    if len(value) > _SHOWN_LENGTH:
        value = value[: _SHOWN_LENGTH - 1] + "…"
    return f"'{value}'"


def _first_word_usage(text: str) -> str:
    words = text.split(maxsplit=1)
    name = words[0].lower() if words else "help"
    return usage(ALIASES.get(name, name))


def _is_control(character: str) -> bool:
    if character == "\t":
        return False
    return unicodedata.category(character) in ("Cc", "Zl", "Zp")


def _check_text(text: str) -> None:
    """Refuse oversized text and control characters before reading any argument."""
    if len(text) > MAX_TEXT_LENGTH:
        raise CommandError(
            f"the command is {len(text):,} characters long; at most {MAX_TEXT_LENGTH:,}",
            _first_word_usage(text[:MAX_TEXT_LENGTH]),
        )
    for position, character in enumerate(text):
        if _is_control(character):
            raise CommandError(
                f"control character U+{ord(character):04X} at position {position + 1}:"
                " type the command on one line, without special characters",
                _first_word_usage(text[:position]),
            )


def _tokenize(text: str) -> tuple[_Token, ...]:
    """Split on whitespace; `"…"` and Slack's `<…>` sequences may contain spaces."""
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        start = position
        while position < len(text) and not text[position].isspace():
            position = _after_group(text, position)
        token = _Token(text[start:position], start, position, len(tokens))
        if len(token.text) > MAX_ARGUMENT_LENGTH:
            raise CommandError(
                f"an argument is {len(token.text):,} characters long; at most"
                f" {MAX_ARGUMENT_LENGTH:,}: {_shown(token.text)}",
                _first_word_usage(text),
            )
        tokens.append(token)
    return tuple(tokens)


def _after_group(text: str, position: int) -> int:
    """The position after the character at `position`, or after its quoted/`<…>` group."""
    character = text[position]
    if character == '"':
        close = text.find('"', position + 1)
        if close < 0:
            raise CommandError(
                f'unclosed quote in {_shown(text[position:])}: end it with another "',
                _first_word_usage(text),
            )
        return close + 1
    if character == "<":
        close = text.find(">", position + 1)
        return close + 1 if close >= 0 else position + 1
    return position + 1


def _unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<`, `>` (ampersand last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _sequence_as_typed(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith(("@", "#")):
        return target[0] + (label or target[1:])
    if target.startswith("!"):
        return label or "@" + target[1:].split("^", 1)[0]
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    return label or target


def _as_typed(text: str) -> str:
    """What the person typed: Slack's `<…>` sequences back to their visible text, unescaped."""
    return _unescape(_SLACK_SEQUENCE.sub(_sequence_as_typed, text))


def _option(text: str) -> tuple[str, str | None] | None:
    """`("--name", value or None)` when the argument is an option, else None."""
    for prefix in _DASH_PREFIXES:
        if text.startswith(prefix):
            name, equals, value = text.removeprefix(prefix).partition("=")
            return f"--{name.lower()}", value if equals else None
    return None


def _unknown_option(name: str, allowed: Sequence[str]) -> str:
    if not allowed:
        return f"unknown option {_shown(name)}; this command takes none"
    return f"unknown option {_shown(name)}; use {' or '.join(sorted(allowed))}"


def _unknown_subcommand(word: str, web: SentryWeb) -> CommandError:
    close = difflib.get_close_matches(word.lower(), [*_SUBCOMMANDS, *ALIASES], n=1)
    if close:
        suggestion = ALIASES.get(close[0], close[0])
        return CommandError(
            f"unknown command {_shown(word)}; did you mean {close[0]}?", usage(suggestion)
        )
    try:
        issue = _issue_ref(word, web)
    except ValueError:
        return CommandError(
            f"unknown command {_shown(word)}; /sentry help lists every command", usage("help")
        )
    return CommandError(
        f"{_shown(word)} is not a command; to open that issue, use /sentry issue {issue}",
        usage("issue"),
    )


# ---- issues, assignees, durations, versions ---------------------------------------------------


def _issue_ref(text: str, web: SentryWeb) -> IssueRef:
    """Read one issue reference; ValueError says why it is not one."""
    if text.startswith("<"):
        target = text[1:].removesuffix(">").split("|", 1)[0]
        if not target.startswith(("http://", "https://")):
            raise ValueError(f"{_shown(text)} is not an issue; give {_ISSUE_FORMS}")
        return _issue_from_link(_unescape(target), web)
    if text.lower().startswith(("http://", "https://")):
        return _issue_from_link(_unescape(text), web)
    if _ISSUE_ID.fullmatch(text):
        return IssueRef("id", _numeric_id(text))
    if _SHORT_ID.fullmatch(text):
        try:
            return IssueRef("short_id", ShortId(text))
        except InvalidId:
            raise ValueError(f"{_shown(text)} is too long for a short ID") from None
    raise ValueError(f"{_shown(text)} is not an issue; give {_ISSUE_FORMS}")


def _issue_from_link(link: str, web: SentryWeb) -> IssueRef:
    """The issue an issue page of this Sentry organization names, read by the one link parser
    (`bot.sentry.links`, as for shared links): `/organizations/<org>/issues/<id>/…` or
    `<org>.sentry.io/issues/<id>/…`, by numeric or short ID. The link is only read, never
    fetched; a link to another host or another organization is refused, saying so."""
    found = read_issue_link(link, web)
    if isinstance(found, IssueId):
        return IssueRef("id", found)
    if isinstance(found, ShortId):
        return IssueRef("short_id", found)
    if found.reason == "elsewhere":
        raise ValueError(
            f"{_quoted(link)} points to {_netloc(link)}, not to this Sentry ({web.shown});"
            " only its issue links can be read"
        )
    if found.reason == "other_org":
        raise ValueError(
            f"{_quoted(link)} is an issue of the Sentry organization {_shown(found.org)},"
            f" not of {web.org}; only {web.org}'s issues can be read"
        )
    raise ValueError(
        f"{_quoted(link)} is not a link to a Sentry issue"
        f" (like https://{web.shown}/organizations/{web.org}/issues/4506842918/)"
    )


def _netloc(link: str) -> str:
    try:
        return _shown(urlsplit(link).netloc)
    except ValueError:
        return "another host"


def _numeric_id(text: str) -> IssueId:
    """A numeric issue ID; Sentry's are 64-bit, so a longer number names no issue."""
    try:
        return IssueId(text)
    except InvalidId:
        raise ValueError(f"{_shown(text)} is too large for a Sentry issue ID") from None


def _one_issue(args: _Arguments) -> IssueRef:
    tokens = args.positional()
    if not tokens:
        raise args.error(f"missing issue: give {_ISSUE_FORMS}")
    args.at_most(tokens, 1)
    return _read_issue(args, tokens[0])


def _read_issue(args: _Arguments, token: _Token) -> IssueRef:
    try:
        return _issue_ref(token.text, args.web)
    except ValueError as exc:
        raise args.error(str(exc)) from None


def _issue_list(args: _Arguments, tokens: Sequence[_Token]) -> tuple[IssueRef, ...]:
    """Distinct issues in the order given, at most `MAX_BULK_ISSUES` of them."""
    if not tokens:
        raise args.error(f"missing issue: give one or more of {_ISSUE_FORMS}")
    issues = tuple(dict.fromkeys(_read_issue(args, token) for token in tokens))
    if len(issues) > MAX_BULK_ISSUES:
        raise args.error(f"too many issues: {len(issues)} given, at most {MAX_BULK_ISSUES}")
    return issues


def _assignee(args: _Arguments, text: str) -> AssigneeRef:
    lowered = text.lower()
    if lowered == "me":
        return AssigneeRef("me")
    if lowered in ("none", "nobody"):
        return AssigneeRef("nobody")
    if user := _SLACK_USER.fullmatch(text):
        return AssigneeRef("slack_user", user.group(1))
    if channel := _SLACK_CHANNEL.fullmatch(text):
        if not channel.group(1):
            raise args.error(
                "Slack turned the team into a channel link without its name;"
                " write it as team:<slug> instead"
            )
        return AssigneeRef("team", _team_slug(args, _unescape(channel.group(1))))
    if mailto := _SLACK_MAILTO.fullmatch(text):
        return AssigneeRef("email", _email(args, _unescape(mailto.group(1))))
    if _SLACK_USER_GROUP.fullmatch(text):
        raise args.error(
            f"{_shown(text)} is a Slack user group; Sentry assigns to a person or a #team"
        )
    if text.startswith("@"):
        raise args.error(
            f"{_shown(text)} is not a Slack user: pick the person from the list"
            " Slack shows as you type @, or give their e-mail"
        )
    if text.startswith("#") or lowered.startswith("team:"):
        return AssigneeRef("team", _team_slug(args, text.split(":", 1)[-1].lstrip("#")))
    if "@" in text:
        return AssigneeRef("email", _email(args, _unescape(text)))
    raise args.error(
        f"{_shown(text)} is not an assignee: use me, @person, an e-mail, #team or none"
    )


def _team_slug(args: _Arguments, name: str) -> Slug:
    slug = name.lower()
    if not _SLUG.fullmatch(slug):
        raise args.error(f"{_quoted('#' + name)} is not a Sentry team (like #backend)")
    return Slug(slug)


def _email(args: _Arguments, address: str) -> str:
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise args.error(f"{_quoted(address)} is not an e-mail address")
    return address


def _project_slug(args: _Arguments, token: _Token) -> Slug:
    """A project slug (lower-cased)."""
    text = _as_typed(token.text)
    slug = text.lower()
    if not _SLUG.fullmatch(slug):
        raise args.error(f"{_quoted(text)} is not a project slug (like web or pump-station)")
    return Slug(slug)


def _project_or_every(args: _Arguments, token: _Token) -> str:
    """A project slug, or `*` for every project."""
    if _as_typed(token.text) == EVERY_PROJECT:
        return EVERY_PROJECT
    return _project_slug(args, token)


def _ignore_condition(args: _Arguments, text: str) -> Ignore:
    try:
        return ignore_from_word(text)
    except WordError as exc:
        raise args.error(f"{_shown(text)} {exc}") from None


def _version(args: _Arguments, token: _Token) -> ReleaseVersion:
    """A release version as Sentry accepts it (`Release.is_valid_version`)."""
    version = _as_typed(token.text)
    if len(version) >= 2 and version[0] == version[-1] == '"':
        version = version[1:-1]
    if not version.strip():
        raise args.error("missing release version")
    if len(version) > MAX_VERSION_LENGTH:
        raise args.error(f"the release version is longer than {MAX_VERSION_LENGTH} characters")
    if any(character in BAD_VERSION_CHARACTERS for character in version):
        raise args.error(
            f"{_quoted(version)} is not a release version: it may not contain /, \\ or tabs"
        )
    if version.strip().lower() in RESERVED_VERSIONS:
        raise args.error(
            f"{_quoted(version)} is reserved by Sentry and cannot be a release version"
        )
    try:
        return ReleaseVersion(version)
    except InvalidId:
        raise args.error(f"{_quoted(version)} is not a release version") from None


def _commit(args: _Arguments, text: str) -> CommitRef:
    value = _as_typed(text)
    repository, at, sha = value.rpartition("@")
    if not at or not _REPOSITORY.fullmatch(repository):
        raise args.error(
            f"{_quoted(value)} is not a commit: use --commit org/repo@sha (like acme/web@1a2b3c4)"
        )
    if not _SHA.fullmatch(sha):
        raise args.error(f"{_quoted(sha)} is not a commit SHA: use 7 to 40 hex digits")
    return CommitRef(repository, sha.lower())


def _time_of_day(args: _Arguments, text: str) -> datetime.time:
    match = _TIME_OF_DAY.fullmatch(text)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return datetime.time(int(match.group(1)), int(match.group(2)))
    raise args.error(f"{_shown(text)} is not a time of day: use HH:MM, 24-hour (like 09:30)")


def _weekday(args: _Arguments, text: str) -> Weekday:
    day = _WEEKDAYS.get(text.lower())
    if day is None:
        raise args.error(f"{_shown(text)} is not a day: use mon … sun or monday … sunday")
    return day


@functools.cache
def _time_zones() -> Mapping[str, str]:
    """IANA names by lower-case spelling; `localtime` is this machine's, not a zone."""
    return {name.lower(): name for name in zoneinfo.available_timezones() - {"localtime"}}


def _time_zone(args: _Arguments, text: str) -> str:
    name = _time_zones().get(text.lower())
    if name is not None:
        return name
    close = difflib.get_close_matches(text, _time_zones().values(), n=1)
    hint = f"did you mean {close[0]}?" if close else "use a name like Europe/Berlin or UTC"
    raise args.error(f"{_quoted(text)} is not an IANA time zone; {hint}")


# ---- subcommands ---------------------------------------------------------------------------


def _help(args: _Arguments) -> HelpCommand:
    tokens = args.positional()
    if not tokens:
        return HelpCommand()
    topic = " ".join(token.text.lower() for token in tokens)
    topic = ALIASES.get(topic, topic)
    if topic in HELP_BY_NAME:
        return HelpCommand(topic)
    close = difflib.get_close_matches(topic, [*HELP_BY_NAME, *ALIASES], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise args.error(f"no help for {_shown(topic)}{hint}")


def _issues(args: _Arguments) -> IssuesCommand:
    found = args.options(valued={"--sort": "date, new, freq or user"})
    sort_values = found.values.get("--sort", ())
    if len(sort_values) > 1:
        raise args.error("--sort is given more than once")
    sort: IssueSort | None = None
    if sort_values:
        sort = _SORTS.get(sort_values[0].lower())
        if sort is None:
            raise args.error(
                f"{_shown(sort_values[0])} is not a sort order: use date, new, freq or user"
            )
    terms = found.positional
    project: Slug | None = None
    if terms and terms[0].text == EVERY_PROJECT:
        terms = terms[1:]
    elif terms and _SLUG.fullmatch(terms[0].text):
        project, terms = Slug(terms[0].text), terms[1:]
    return IssuesCommand(project=project, query=args.query(terms), sort=sort)


def _issue(args: _Arguments) -> IssueCommand:
    return IssueCommand(_one_issue(args))


def _events(args: _Arguments) -> EventsCommand:
    return EventsCommand(_one_issue(args))


def _delete(args: _Arguments) -> DeleteCommand:
    return DeleteCommand(_one_issue(args))


def _resolve(args: _Arguments) -> ResolveCommand:
    found = args.options(switches=RESOLVE_SWITCHES)
    for token in found.positional:
        if token.text.lower() in ("next-release", "in-next-release"):
            raise args.error(f"{_shown(token.text)} is not an issue; did you mean --next-release?")
    return ResolveCommand(
        issues=_issue_list(args, found.positional),
        resolution=resolve_from_switches(found.switches),
    )


def _unresolve(args: _Arguments) -> UnresolveCommand:
    return UnresolveCommand(_issue_list(args, args.positional()))


def _ignore(args: _Arguments) -> IgnoreCommand:
    tokens = args.positional()
    condition = IGNORE_DEFAULT
    words = [token.text.lower() for token in tokens]
    if len(tokens) >= 2 and words[-1] in COUNT_NOUNS and _ISSUE_ID.fullmatch(words[-2]):
        condition = _ignore_condition(args, words[-2] + words[-1])
        tokens = tokens[:-2]
    elif tokens and looks_like_ignore_word(tokens[-1].text):
        condition = _ignore_condition(args, tokens[-1].text)
        tokens = tokens[:-1]
    for token in tokens:
        if looks_like_ignore_word(token.text):
            raise args.error(
                f"{_shown(token.text)} must come last, after the issues (only one duration)"
            )
    return IgnoreCommand(issues=_issue_list(args, tokens), condition=condition)


def _assign(args: _Arguments) -> AssignCommand:
    tokens = args.positional()
    if not tokens:
        raise args.error(f"missing issue: give {_ISSUE_FORMS}")
    issue = _read_issue(args, tokens[0])
    rest = tokens[1:]
    if rest and rest[0].text.lower() == "to":
        rest = rest[1:]
    if not rest:
        raise args.error("missing assignee: me, @person, an e-mail, #team or none")
    args.at_most(rest, 1)
    return AssignCommand(issue=issue, assignee=_assignee(args, rest[0].text))


def _projects(args: _Arguments) -> ProjectsCommand:
    args.at_most(args.positional(), 0)
    return ProjectsCommand()


def _project(args: _Arguments) -> ProjectCommand:
    tokens = args.positional()
    if not tokens:
        raise args.error("missing project slug")
    args.at_most(tokens, 1)
    return ProjectCommand(_project_slug(args, tokens[0]))


def _releases(args: _Arguments) -> ReleasesCommand:
    tokens = args.positional()
    args.at_most(tokens, 1)
    if not tokens:
        return ReleasesCommand()
    if _as_typed(tokens[0].text) == EVERY_PROJECT:
        return ReleasesCommand()
    return ReleasesCommand(_project_slug(args, tokens[0]))


def _release(args: _Arguments) -> ReleaseCommand | ReleaseCreateCommand:
    if args.tokens and args.tokens[0].text.lower() == "create":
        return _release_create(_Arguments("release create", args.tokens[1:], args.text, args.web))
    tokens = args.positional()
    if not tokens:
        raise args.error("missing release version")
    args.at_most(tokens, 1)
    return ReleaseCommand(_version(args, tokens[0]))


def _release_create(args: _Arguments) -> ReleaseCreateCommand:
    found = args.options(valued={"--commit": "org/repo@sha (like acme/web@1a2b3c4)"})
    if not found.positional:
        raise args.error("missing release version")
    version = _version(args, found.positional[0])
    projects = (_project_slug(args, token) for token in found.positional[1:])
    commits = (_commit(args, value) for value in found.values.get("--commit", ()))
    return ReleaseCreateCommand(
        version=version,
        projects=tuple(dict.fromkeys(projects)),
        commits=tuple(dict.fromkeys(commits)),
    )


def _subscribe(args: _Arguments) -> SubscribeCommand:
    tokens = args.positional()
    if not tokens:
        raise args.error("missing project: give a project slug, or * for every project")
    project = _project_or_every(args, tokens[0])
    return SubscribeCommand(project=project, query=args.query(tokens[1:]))


def _unsubscribe(args: _Arguments) -> UnsubscribeCommand:
    tokens = args.positional()
    args.at_most(tokens, 1)
    if not tokens:
        return UnsubscribeCommand()
    return UnsubscribeCommand(_project_or_every(args, tokens[0]))


def _subscriptions(args: _Arguments) -> SubscriptionsCommand:
    args.at_most(args.positional(), 0)
    return SubscriptionsCommand()


def _digest(args: _Arguments) -> Command:
    tokens = args.positional()
    if not tokens:
        return DigestShowCommand()
    mode, rest = tokens[0].text.lower(), [token.text for token in tokens[1:]]
    if mode in ("now", "off"):
        args.at_most(tokens, 1)
        return DigestNowCommand() if mode == "now" else DigestOffCommand()
    if mode == "daily":
        return _digest_schedule(args, None, rest)
    if mode == "weekly":
        if not rest:
            raise args.error("missing day: weekly DAY HH:MM, like weekly mon 09:00")
        return _digest_schedule(args, _weekday(args, rest[0]), rest[1:])
    raise args.error(
        f"{_shown(tokens[0].text)} is not a digest option: use now, daily, weekly or off"
    )


def _digest_schedule(
    args: _Arguments, weekday: Weekday | None, rest: Sequence[str]
) -> DigestScheduleCommand:
    if not rest:
        raise args.error("missing time: HH:MM, 24-hour (like 09:30)")
    if len(rest) > 2:
        raise args.error(f"unexpected {_shown(rest[2])}")
    at = _time_of_day(args, rest[0])
    timezone = _time_zone(args, _as_typed(rest[1])) if len(rest) == 2 else None
    return DigestScheduleCommand(at=at, weekday=weekday, timezone=timezone)


_SUBCOMMANDS: Final[Mapping[str, Callable[[_Arguments], Command]]] = {
    "help": _help,
    "issues": _issues,
    "issue": _issue,
    "events": _events,
    "resolve": _resolve,
    "unresolve": _unresolve,
    "ignore": _ignore,
    "assign": _assign,
    "delete": _delete,
    "projects": _projects,
    "project": _project,
    "releases": _releases,
    "release": _release,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "subscriptions": _subscriptions,
    "digest": _digest,
}
