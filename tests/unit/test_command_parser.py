"""The `/sentry` parser: every subcommand, issue reference, assignee form and malformed input.

Texts are written as Slack sends them with `should_escape: true` (Slack docs: slash commands,
escaping): mentions, channels and links wrapped in `<…>`, and `&`, `<`, `>` escaped.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

import pytest

from bot.commands import model
from bot.commands.help import HELP_LINES, help_text, usage
from bot.commands.model import (
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
from bot.triage.vocabulary import Ignore, Resolve

SAAS = "sentry.io"
SELF_HOSTED = "sentry.example.com:9000"


def run(text: str, host: str = SAAS) -> Command:
    return parse(text, sentry_web_host=host, sentry_org="acme")


def error(text: str, host: str = SAAS) -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse(text, sentry_web_host=host, sentry_org="acme")
    return caught.value


def by_id(value: str) -> IssueRef:
    return IssueRef("id", value)


def short(value: str) -> IssueRef:
    return IssueRef("short_id", value)


WEB_3F = short("WEB-3F")

# ---- every subcommand, well formed ------------------------------------------------------------

VALID: list[tuple[str, Command]] = [
    ("", HelpCommand()),
    ("   ", HelpCommand()),
    ("help", HelpCommand()),
    ("HELP", HelpCommand()),
    ("help ignore", HelpCommand("ignore")),
    ("help release create", HelpCommand("release create")),
    ("help archive", HelpCommand("ignore")),
    # issues: project detection, search terms, sort
    ("issues", IssuesCommand(None, "")),
    ("issues web", IssuesCommand("web", "")),
    ("issues web is:unassigned --sort freq", IssuesCommand("web", "is:unassigned", "freq")),
    ("issues --sort=new", IssuesCommand(None, "", "new")),
    ("issues web --sort DATE level:error", IssuesCommand("web", "level:error", "date")),
    ("issues is:unassigned level:error", IssuesCommand(None, "is:unassigned level:error")),
    ('issues "timeout error" level:error', IssuesCommand(None, '"timeout error" level:error')),
    ("issues TypeError", IssuesCommand(None, "TypeError")),
    ("issues * timeout", IssuesCommand(None, "timeout")),
    ("issues 123", IssuesCommand(None, "123")),
    ("issues pump-station user", IssuesCommand("pump-station", "user")),
    ("Issues web —sort user", IssuesCommand("web", "", "user")),  # em dash typed for --
    # one issue
    ("issue 4506842918", IssueCommand(by_id("4506842918"))),
    ("issue WEB-3F", IssueCommand(WEB_3F)),
    ("ISSUE web-3f", IssueCommand(WEB_3F)),
    ("events PUMP-STATION-1", EventsCommand(short("PUMP-STATION-1"))),
    ("delete 42", DeleteCommand(by_id("42"))),
    # bulk
    ("resolve WEB-3F", ResolveCommand((WEB_3F,))),
    (
        "resolve WEB-3F 42 --next-release",
        ResolveCommand((WEB_3F, by_id("42")), resolution=Resolve("next_release")),
    ),
    (
        "resolve --next-release web-3f",
        ResolveCommand((WEB_3F,), resolution=Resolve("next_release")),
    ),
    ("resolve WEB-3F web-3f 42 WEB-3F 42", ResolveCommand((WEB_3F, by_id("42")))),
    ("unresolve WEB-3F 42", UnresolveCommand((WEB_3F, by_id("42")))),
    ("ignore WEB-3F", IgnoreCommand((WEB_3F,), Ignore("until_escalating"))),
    ("archive WEB-3F 2h", IgnoreCommand((WEB_3F,), Ignore("duration", 120))),
    # assign
    ("assign WEB-3F me", AssignCommand(WEB_3F, AssigneeRef("me"))),
    ("assign WEB-3F to none", AssignCommand(WEB_3F, AssigneeRef("nobody"))),
    # projects and releases
    ("projects", ProjectsCommand()),
    ("project web", ProjectCommand("web")),
    ("project Pump-Station", ProjectCommand("pump-station")),
    ("releases", ReleasesCommand()),
    ("releases web", ReleasesCommand("web")),
    ("releases *", ReleasesCommand()),
    ("release 2.4.1", ReleaseCommand("2.4.1")),
    ("release backend@2.4.1+build&amp;7", ReleaseCommand("backend@2.4.1+build&7")),
    ('release "2.4.1 beta"', ReleaseCommand("2.4.1 beta")),
    ("release create 2.4.1", ReleaseCreateCommand("2.4.1")),
    (
        "release create 2.4.1 web api web --commit acme/web@1A2B3C4 --commit=acme/api@"
        + "f" * 40
        + " --commit acme/web@1a2b3c4",
        ReleaseCreateCommand(
            "2.4.1",
            ("web", "api"),
            (CommitRef("acme/web", "1a2b3c4"), CommitRef("acme/api", "f" * 40)),
        ),
    ),
    (
        "release CREATE v1 --commit group/sub/repo@abcdef0",
        ReleaseCreateCommand("v1", (), (CommitRef("group/sub/repo", "abcdef0"),)),
    ),
    # subscriptions
    ("subscribe web", SubscribeCommand("web")),
    ("subscribe * level:error", SubscribeCommand("*", "level:error")),
    (
        'subscribe web is:unresolved  message:"a  b"',
        SubscribeCommand("web", 'is:unresolved  message:"a  b"'),
    ),
    ("unsubscribe", UnsubscribeCommand()),
    ("unsubscribe web", UnsubscribeCommand("web")),
    ("unsubscribe *", UnsubscribeCommand("*")),
    ("subscriptions", SubscriptionsCommand()),
    # digests
    ("digest", DigestShowCommand()),
    ("digest now", DigestNowCommand()),
    ("digest OFF", DigestOffCommand()),
    ("digest daily 09:00", DigestScheduleCommand(datetime.time(9, 0))),
    ("digest daily 9:05 UTC", DigestScheduleCommand(datetime.time(9, 5), None, "UTC")),
    (
        "digest daily 23:59 europe/berlin",
        DigestScheduleCommand(datetime.time(23, 59), None, "Europe/Berlin"),
    ),
    ("digest weekly mon 09:30", DigestScheduleCommand(datetime.time(9, 30), "mon")),
    (
        "digest weekly Sunday 00:00 America/New_York",
        DigestScheduleCommand(datetime.time(0, 0), "sun", "America/New_York"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[text or "<empty>" for text, _ in VALID])
def test_parses(text: str, expected: Command) -> None:
    assert run(text) == expected


def test_every_subcommand_is_covered_by_the_table() -> None:
    covered = {type(expected) for _, expected in VALID}
    assert covered == set(typing.get_args(Command))


# ---- issue references -------------------------------------------------------------------------

ISSUE_REFS: list[tuple[str, str, IssueRef]] = [
    ("4506842918", SAAS, by_id("4506842918")),
    ("WEB-3F", SAAS, WEB_3F),
    ("web-3f", SAAS, WEB_3F),
    ("pump-station-1", SAAS, short("PUMP-STATION-1")),
    ("my_app-Z", SAAS, short("MY_APP-Z")),
    ("https://sentry.io/organizations/acme/issues/4506842918/", SAAS, by_id("4506842918")),
    ("https://acme.sentry.io/issues/4506842918/", SAAS, by_id("4506842918")),
    ("https://acme.sentry.io/issues/4506842918", SAAS, by_id("4506842918")),
    ("https://us.sentry.io/organizations/acme/issues/7/", SAAS, by_id("7")),
    ("https://de.sentry.io/organizations/acme/issues/7/", SAAS, by_id("7")),
    ("https://acme.sentry.io/issues/7/", "us.sentry.io", by_id("7")),
    ("HTTPS://ACME.SENTRY.IO/issues/7/", SAAS, by_id("7")),
    (
        "https://acme.sentry.io/issues/4506842918/?project=2&amp;query=is%3Aunresolved#top",
        SAAS,
        by_id("4506842918"),
    ),
    ("https://acme.sentry.io/issues/4506842918/events/latest/", SAAS, by_id("4506842918")),
    ("https://acme.sentry.io/issues/WEB-3F/", SAAS, WEB_3F),
    ("https://sentry.io/organizations/acme/issues/web-3f/events/x/", SAAS, WEB_3F),
    ("<https://acme.sentry.io/issues/4506842918/>", SAAS, by_id("4506842918")),
    (
        "<https://sentry.io/organizations/acme/issues/4506842918/?a=1&amp;b=2|the issue>",
        SAAS,
        by_id("4506842918"),
    ),
    (
        "<http://acme.sentry.io/issues/4506842918/|acme.sentry.io/issues/4506842918/>",
        SAAS,
        by_id("4506842918"),
    ),
    (
        "https://sentry.example.com:9000/organizations/acme/issues/31/",
        SELF_HOSTED,
        by_id("31"),
    ),
    (
        "<https://sentry.example.com/organizations/acme/issues/31/>",
        "https://sentry.example.com",
        by_id("31"),
    ),
    (
        "http://127.0.0.1:9000/organizations/acme/issues/31/",
        "http://127.0.0.1:9000",
        by_id("31"),
    ),
]


@pytest.mark.parametrize(("text", "host", "expected"), ISSUE_REFS)
def test_issue_reference_forms(text: str, host: str, expected: IssueRef) -> None:
    assert run(f"issue {text}", host) == IssueCommand(expected)


BAD_ISSUE_REFS: list[tuple[str, str, str]] = [
    ("https://evil.example/organizations/acme/issues/1/", SAAS, "not to this Sentry"),
    ("<https://evil.example/organizations/acme/issues/1/|sentry>", SAAS, "not to this Sentry"),
    ("https://sentry.io.evil.example/issues/1/", SAAS, "not to this Sentry"),
    ("https://evilsentry.io/issues/1/", SAAS, "not to this Sentry"),
    ("https://a.b.sentry.io/issues/1/", SAAS, "not to this Sentry"),
    ("https://sentry.io:8443/organizations/acme/issues/1/", SAAS, "not to this Sentry"),
    ("https://acme.sentry.io/issues/1/", SELF_HOSTED, "not to this Sentry"),
    ("https://sentry.example.com/organizations/a/issues/1/", SELF_HOSTED, "not to this Sentry"),
    ("https://acme.sentry.io/issues/", SAAS, "not a link to a Sentry issue"),
    ("https://sentry.io/organizations/other/issues/1/", SAAS, "organization 'other', not of acme"),
    ("https://other.sentry.io/issues/1/", SAAS, "organization 'other', not of acme"),
    (
        "https://sentry.example.com:9000/organizations/other/issues/1/",
        SELF_HOSTED,
        "organization 'other', not of acme",
    ),
    ("https://acme.sentry.io/issues/WEB-3F!/", SAAS, "not a link to a Sentry issue"),
    ("https://sentry.io/organizations/acme/", SAAS, "not a link to a Sentry issue"),
    ("https://sentry.io/organizations/acme/projects/1/", SAAS, "not a link to a Sentry issue"),
    ("https://sentry.io:notaport/issues/1/", SAAS, "not a link to a Sentry issue"),
    ("https://[::1/issues/1/", SAAS, "not a link to a Sentry issue"),
    ("<ftp://sentry.io/issues/1/>", SAAS, "is not an issue"),
    ("<@U0123ABCD|alice>", SAAS, "is not an issue"),
    ("WEB", SAAS, "is not an issue"),
    ("0", SAAS, "is not an issue"),
    ("12.5", SAAS, "is not an issue"),
    ("WEB-", SAAS, "is not an issue"),
    ("-3F", SAAS, "is not an issue"),
    ("123456789012345678901", SAAS, "is not an issue"),
]


@pytest.mark.parametrize(("text", "host", "fragment"), BAD_ISSUE_REFS)
def test_bad_issue_references_are_refused(text: str, host: str, fragment: str) -> None:
    problem = error(f"issue {text}", host)
    assert fragment in problem.message
    assert problem.usage == usage("issue")


def test_foreign_link_error_names_both_hosts() -> None:
    problem = error("issue https://evil.example/organizations/acme/issues/1/", SELF_HOSTED)
    assert "evil.example" in problem.message
    assert SELF_HOSTED in problem.message


def test_issue_in_bulk_command_error_names_the_bad_one() -> None:
    problem = error("resolve WEB-1 nonsense WEB-2")
    assert problem.message.startswith("'nonsense' is not an issue")
    assert problem.usage == usage("resolve")


# ---- ignore conditions ------------------------------------------------------------------------

IGNORE_CONDITIONS: list[tuple[str, Ignore]] = [
    ("", Ignore("until_escalating")),
    ("until-escalating", Ignore("until_escalating")),
    ("UNTIL_ESCALATING", Ignore("until_escalating")),
    ("forever", Ignore("forever")),
    ("30m", Ignore("duration", 30)),
    ("2h", Ignore("duration", 120)),
    ("24h", Ignore("duration", 1440)),
    ("1w", Ignore("duration", 10080)),
    ("6H", Ignore("duration", 360)),
    ("7d", Ignore("duration", 10080)),
    ("30d", Ignore("duration", 43200)),
    ("1m", Ignore("duration", 1)),
    ("100events", Ignore("events", 100)),
    ("1event", Ignore("events", 1)),
    ("100 events", Ignore("events", 100)),
    ("10users", Ignore("users", 10)),
    ("1 user", Ignore("users", 1)),
    ("1000000Users", Ignore("users", 1_000_000)),
]


@pytest.mark.parametrize(("suffix", "expected"), IGNORE_CONDITIONS)
def test_ignore_conditions(suffix: str, expected: Ignore) -> None:
    assert run(f"ignore WEB-3F 42 {suffix}") == IgnoreCommand((WEB_3F, by_id("42")), expected)


BAD_IGNORE: list[tuple[str, str]] = [
    ("WEB-3F 45s", "'45s' is not an ignore duration"),
    ("WEB-3F 3x", "'3x' is not an ignore duration"),
    ("WEB-3F 1.5h", "'1.5h' is not an ignore duration"),
    ("WEB-3F 0m", "'0m' is out of range"),
    ("WEB-3F 31d", "'31d' is out of range"),
    ("WEB-3F 5w", "'5w' is out of range"),
    ("WEB-3F 0events", "'0events' is out of range"),
    ("WEB-3F 1000001users", "'1000001users' is out of range"),
    ("WEB-3F 2h forever", "'2h' must come last"),
    ("2h WEB-3F", "'2h' must come last"),
    ("forever", "missing issue"),
    ("", "missing issue"),
]


@pytest.mark.parametrize(("arguments", "fragment"), BAD_IGNORE)
def test_bad_ignore_conditions(arguments: str, fragment: str) -> None:
    problem = error(f"ignore {arguments}")
    assert fragment in problem.message
    assert problem.usage == usage("ignore")


# ---- assignees -----------------------------------------------------------------------------------

ASSIGNEES: list[tuple[str, AssigneeRef]] = [
    ("me", AssigneeRef("me")),
    ("ME", AssigneeRef("me")),
    ("none", AssigneeRef("nobody")),
    ("nobody", AssigneeRef("nobody")),
    ("<@U0123ABCD|alice>", AssigneeRef("slack_user", "U0123ABCD")),
    ("<@U0123ABCD>", AssigneeRef("slack_user", "U0123ABCD")),
    ("<@W0123ABCD|grid.user>", AssigneeRef("slack_user", "W0123ABCD")),
    ("alice@example.com", AssigneeRef("email", "alice@example.com")),
    ("<mailto:alice@example.com|alice@example.com>", AssigneeRef("email", "alice@example.com")),
    ("<mailto:alice@example.com>", AssigneeRef("email", "alice@example.com")),
    ("#backend", AssigneeRef("team", "backend")),
    ("#Pump-Station", AssigneeRef("team", "pump-station")),
    ("team:backend", AssigneeRef("team", "backend")),
    ("<#C0123ABCD|backend>", AssigneeRef("team", "backend")),
]


@pytest.mark.parametrize(("text", "expected"), ASSIGNEES)
def test_assignee_forms(text: str, expected: AssigneeRef) -> None:
    assert run(f"assign WEB-3F {text}") == AssignCommand(WEB_3F, expected)


BAD_ASSIGNEES: list[tuple[str, str]] = [
    ("@alice", "pick the person from the list"),
    ("&lt;@alice&gt;", "'<@alice>' is not an e-mail address"),
    ("<#C0123ABCD>", "team:<slug>"),
    ("<#C0123ABCD|>", "team:<slug>"),
    ("<!subteam^S0123ABCD|@oncall>", "'@oncall' is a Slack user group"),
    ("#", "is not a Sentry team"),
    ("#back$end", "is not a Sentry team"),
    ("alice@", "is not an e-mail address"),
    ("alice@localhost", "is not an e-mail address"),
    ("alice", "is not an assignee"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_ASSIGNEES)
def test_bad_assignees(text: str, fragment: str) -> None:
    problem = error(f"assign WEB-3F {text}")
    assert fragment in problem.message
    assert problem.usage == usage("assign")


def test_plain_at_mention_error_shows_the_name() -> None:
    assert error("assign WEB-3F @alice").message.startswith("'@alice' is not a Slack user")


# ---- search terms --------------------------------------------------------------------------------

QUERIES: list[tuple[str, str]] = [
    ("is:unresolved", "is:unresolved"),
    ('message:"a  b"   level:error', 'message:"a  b"   level:error'),
    ("“timeout error”", '"timeout error"'),
    ("a &amp; b &lt;c&gt;", "a & b <c>"),
    ("&amp;lt;", "&lt;"),
    ("assigned:<#C0123ABCD|backend>", "assigned:#backend"),
    ("assigned:<@U0123ABCD|alice>", "assigned:@alice"),
    ("url:<https://example.com/a?b=1&amp;c=2>", "url:https://example.com/a?b=1&c=2"),
    ("url:<https://example.com/a|example.com/a>", "url:example.com/a"),
    ("user.email:<mailto:a@b.co|a@b.co>", "user.email:a@b.co"),
    ("<!here>", "@here"),
    ("is:unresolved --sort freq level:error", "is:unresolved level:error"),
    ("!is:ignored\tlevel:error", "!is:ignored\tlevel:error"),
]


@pytest.mark.parametrize(("terms", "query"), QUERIES)
def test_search_terms_reach_sentry_as_typed(terms: str, query: str) -> None:
    command = run(f"issues * {terms}")
    assert isinstance(command, IssuesCommand)
    assert command.query == query
    assert run(f"subscribe web {terms.replace('--sort freq ', '')}") == SubscribeCommand(
        "web", query
    )


# ---- malformed input -----------------------------------------------------------------------------

MALFORMED: list[tuple[str, str, str]] = [
    # (text, fragment of the message, help line expected)
    ("isues", "unknown command 'isues'; did you mean issues?", "issues"),
    ("ISSEU web", "did you mean issue", "issue"),
    ("resolv WEB-3F", "did you mean resolve?", "resolve"),
    ("subscibe web", "did you mean subscribe?", "subscribe"),
    ("archiv WEB-3F", "did you mean archive?", "ignore"),
    ("frobnicate", "unknown command 'frobnicate'; /sentry help lists every command", "help"),
    ("WEB-3F", "to open that issue, use /sentry issue WEB-3F", "issue"),
    ("<https://acme.sentry.io/issues/42/>", "use /sentry issue 42", "issue"),
    ("help frobnicate", "no help for 'frobnicate'", "help"),
    ("help isues", "did you mean issues?", "help"),
    ('issues "unclosed', "unclosed quote", "issues"),
    ("issues --sort", "--sort needs a value: date, new, freq or user", "issues"),
    ("issues --sort --next-release", "--sort needs a value", "issues"),
    ("issues --sort best", "'best' is not a sort order", "issues"),
    ("issues --sort freq --sort new", "--sort is given more than once", "issues"),
    ("issues --limit 5", "unknown option '--limit'; use --sort", "issues"),
    ("issue", "missing issue", "issue"),
    ("issue WEB-1 WEB-2", "unexpected 'WEB-2'", "issue"),
    ("issue --force WEB-1", "unknown option '--force'; this command takes none", "issue"),
    ("events", "missing issue", "events"),
    ("delete", "missing issue", "delete"),
    ("delete WEB-1 WEB-2", "unexpected 'WEB-2'", "delete"),
    ("resolve", "missing issue", "resolve"),
    ("resolve WEB-1 --next-release=yes", "--next-release takes no value", "resolve"),
    ("resolve WEB-1 next-release", "did you mean --next-release?", "resolve"),
    ("resolve WEB-1 --in-release 1.0", "unknown option '--in-release'", "resolve"),
    ("unresolve", "missing issue", "unresolve"),
    ("assign", "missing issue", "assign"),
    ("assign WEB-3F", "missing assignee", "assign"),
    ("assign WEB-3F to", "missing assignee", "assign"),
    ("assign WEB-3F me you", "unexpected 'you'", "assign"),
    ("projects web", "unexpected 'web'", "projects"),
    ("project", "missing project slug", "project"),
    ("project 123", "'123' is not a project slug", "project"),
    ("project web api", "unexpected 'api'", "project"),
    ("releases web api", "unexpected 'api'", "releases"),
    ("release", "missing release version", "release"),
    ("release 1.0 2.0", "unexpected '2.0'", "release"),
    ("release latest", "'latest' is reserved", "release"),
    ("release ..", "'..' is reserved", "release"),
    ("release a\\b", "may not contain", "release"),
    ('release ""', "missing release version", "release"),
    ("release " + "1" * 201, "longer than 200 characters", "release"),
    ("release create", "missing release version", "release create"),
    ("release create a/b", "'a/b' is not a release version", "release create"),
    ("release create LATEST web", "is reserved", "release create"),
    ("release create 1.0 Web!", "'Web!' is not a project slug", "release create"),
    ("release create 1.0 --commit", "--commit needs a value: org/repo@sha", "release create"),
    ("release create 1.0 --commit abc1234", "is not a commit", "release create"),
    ("release create 1.0 --commit web@abc1234", "is not a commit", "release create"),
    (
        "release create 1.0 --commit acme/web@xyz1234",
        "'xyz1234' is not a commit SHA",
        "release create",
    ),
    ("release create 1.0 --commit acme/web@abc12", "'abc12' is not a commit SHA", "release create"),
    ("release create 1.0 --commit acme/web@" + "a" * 41, "is not a commit SHA", "release create"),
    ("subscribe", "missing project", "subscribe"),
    ("subscribe Web! level:error", "is not a project slug", "subscribe"),
    ("subscribe web --sort freq", "unknown option '--sort'", "subscribe"),
    ("unsubscribe web api", "unexpected 'api'", "unsubscribe"),
    ("subscriptions all", "unexpected 'all'", "subscriptions"),
    ("digest later", "'later' is not a digest option", "digest"),
    ("digest now please", "unexpected 'please'", "digest"),
    ("digest daily", "missing time", "digest"),
    ("digest daily 9am", "'9am' is not a time of day", "digest"),
    ("digest daily 24:00", "'24:00' is not a time of day", "digest"),
    ("digest daily 12:60", "'12:60' is not a time of day", "digest"),
    ("digest daily 12:5", "'12:5' is not a time of day", "digest"),
    ("digest daily 09:00 Europe/Berln", "did you mean Europe/Berlin?", "digest"),
    ("digest daily 09:00 Mars/Olympus", "'Mars/Olympus' is not an IANA time zone", "digest"),
    ("digest daily 09:00 Europe", "'Europe' is not an IANA time zone", "digest"),
    ("digest daily 09:00 ../../etc/passwd", "is not an IANA time zone", "digest"),
    ("digest daily 09:00 localtime", "is not an IANA time zone", "digest"),
    ("digest daily 09:00 UTC extra", "unexpected 'extra'", "digest"),
    ("digest weekly", "missing day", "digest"),
    ("digest weekly funday 09:00", "'funday' is not a day", "digest"),
    ("digest weekly 09:00", "'09:00' is not a day", "digest"),
    ("digest weekly mon", "missing time", "digest"),
]


@pytest.mark.parametrize(("text", "fragment", "help_for"), MALFORMED)
def test_malformed_input_gets_a_specific_error_and_its_help_line(
    text: str, fragment: str, help_for: str
) -> None:
    problem = error(text)
    assert fragment in problem.message
    assert problem.usage == usage(help_for)
    assert str(problem) == problem.message


def test_too_many_issues() -> None:
    ids = " ".join(str(1000 + n) for n in range(140))
    for name in ("resolve", "unresolve", "ignore"):
        problem = error(f"{name} {ids}")
        assert problem.message == "too many issues: 140 given, at most 100"
        assert problem.usage == usage(name)


def test_the_cap_counts_distinct_issues() -> None:
    ids = " ".join(str(1000 + n % 100) for n in range(140))
    command = run(f"resolve {ids}")
    assert isinstance(command, ResolveCommand)
    assert command.issues == tuple(by_id(str(1000 + n)) for n in range(100))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("issue WEB-1\nWEB-2", "U+000A"),
        ("issue WEB-1\rx", "U+000D"),
        ("issues a\x00b", "U+0000"),
        ("issues \x1b[31mred", "U+001B"),
        ("issues a\x7f", "U+007F"),
        ("issues a\x85", "U+0085"),
        ("issues a\u2028b", "U+2028"),
        ("\x07", "U+0007"),
    ],
)
def test_control_characters_are_refused(text: str, code: str) -> None:
    problem = error(text)
    assert code in problem.message
    assert "control character" in problem.message


def test_tab_is_whitespace_not_a_control_character() -> None:
    assert run("issue\tWEB-3F") == IssueCommand(WEB_3F)


def test_an_argument_over_1000_characters_is_refused() -> None:
    problem = error("issues " + "x" * 1_001)
    assert problem.message.startswith("an argument is 1,001 characters long; at most 1,000")
    assert len(problem.message) < 200  # the argument is cut, not echoed whole
    assert problem.usage == usage("issues")


def test_an_argument_of_1000_characters_is_accepted() -> None:
    command = run("issues " + "x" * 1_000)
    assert command == IssuesCommand(None, "x" * 1_000)


def test_a_4000_character_argument_is_refused() -> None:
    problem = error("issue " + "9" * 4_000)
    assert problem.message == "the command is 4,006 characters long; at most 4,000"
    assert problem.usage == usage("issue")


def test_text_of_exactly_4000_characters_is_read() -> None:
    text = "issues" + " abcdefghi" * 399
    assert len(text) == 3_996
    command = run(text + "    ")
    assert isinstance(command, IssuesCommand)


def test_error_messages_quote_input_as_typed_and_short() -> None:
    problem = error("assign WEB-3F " + "a&amp;b" * 30)
    assert problem.message.startswith("'a&ba&b")
    assert "&amp;" not in problem.message
    assert "…'" in problem.message


def test_unknown_sentry_web_host_setting_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        parse("help", sentry_web_host="", sentry_org="acme")


# ---- model ---------------------------------------------------------------------------------------


def _dataclasses_of(module: object) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == model.__name__
    ]


def test_every_model_dataclass_is_frozen() -> None:
    classes = _dataclasses_of(model)
    assert set(typing.get_args(Command)) <= set(classes)
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [text for text, _ in VALID])
def test_parsed_commands_cannot_be_changed(text: str) -> None:
    command = run(text)
    for item in dataclasses.fields(command):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(command, item.name, None)


def test_digest_schedule_cron() -> None:
    assert DigestScheduleCommand(datetime.time(9, 5)).cron == "5 9 * * *"
    assert DigestScheduleCommand(datetime.time(17, 30), "fri").cron == "30 17 * * fri"


def test_subscribe_every_project() -> None:
    assert SubscribeCommand("*").every_project
    assert not SubscribeCommand("web").every_project


def test_issue_ref_prints_its_value() -> None:
    assert str(WEB_3F) == "WEB-3F"


# ---- help ----------------------------------------------------------------------------------------

SUBCOMMANDS = [
    "help",
    "issues",
    "issue",
    "events",
    "resolve",
    "unresolve",
    "ignore",
    "assign",
    "delete",
    "projects",
    "project",
    "releases",
    "release",
    "release create",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "digest",
]


def test_help_has_one_line_per_subcommand_in_spec_order() -> None:
    assert [line.name for line in HELP_LINES] == SUBCOMMANDS


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_text_names_every_subcommand_with_syntax_and_example(name: str) -> None:
    text = help_text()
    line = usage(name)
    assert line in text.splitlines()
    assert line.startswith(f"/sentry {name}")
    assert f"Example: /sentry {name}" in line


@pytest.mark.parametrize("line", HELP_LINES, ids=[line.name for line in HELP_LINES])
def test_every_help_example_parses(line: object) -> None:
    example = str(line).split("Example: /sentry ", 1)[1]
    run(example)


def test_usage_of_an_unknown_name_is_the_help_line() -> None:
    assert usage("frobnicate") == usage("help")
    assert usage("IGNORE") == usage("ignore")
