"""`/sentry` text of any kind parses into a typed command or a `CommandError`, nothing else, and
whatever names something in Sentry is one of the typed identifiers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.model import EVERY_PROJECT, IssueRef
from bot.commands.parser import CommandError, parse
from bot.sentry.ids import IssueId, ReleaseVersion, ShortId, Slug
from tests.hostile import BAD_ISSUE_IDS, EDGE_TEXT, unicode_text

WEB = "sentry.example.com"
WORDS = [
    "issue",
    "issues",
    "events",
    "resolve",
    "unresolve",
    "ignore",
    "archive",
    "assign",
    "delete",
    "project",
    "projects",
    "release",
    "releases",
    "create",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "digest",
    "help",
    "to",
    "me",
    "--next-release",
    "--sort",
    "--commit",
    "*",
    "2h",
    "100events",
    "web",
    "WEB-3F",
    "4506842918",
    '"quoted term"',
    "<@U123|ana>",
    "<#C123|backend>",
    "<mailto:a@b.co|a@b.co>",
    "latest",
    "1.0.0",
]
LINKS = [
    f"https://{WEB}/organizations/acme/issues/{issue}/"
    for issue in ["..", ".", "1" * 40, "0", "%2e%2e", "12/../13", "9223372036854775808"]
] + [f"<https://{WEB}/issues/..|x>", "https://evil.example/organizations/acme/issues/1/"]
tokens = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(BAD_ISSUE_IDS),
    st.sampled_from(EDGE_TEXT),
    st.sampled_from(LINKS),
    unicode_text,
)
texts = st.one_of(
    unicode_text,
    st.lists(tokens, max_size=6).map(" ".join),
    st.tuples(st.sampled_from(WORDS[:19]), st.lists(tokens, max_size=5)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
)


def identifiers(value: Any) -> list[tuple[str, Any]]:
    """(field name, value) of every field of a command, through nested dataclasses and tuples."""
    found: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            child = getattr(value, field.name)
            found.append((field.name, child))
            found += identifiers(child)
    elif isinstance(value, tuple):
        for child in value:
            found += identifiers(child)
    return found


def assert_typed(command: Any) -> None:
    for name, value in identifiers(command):
        if isinstance(value, IssueRef):
            expected = IssueId if value.kind == "id" else ShortId
            assert type(value.value) is expected, value
            assert expected(value.value) == value.value
        slugs = value if name == "projects" else (value,) if name in ("slug", "project") else ()
        for slug in slugs:
            if slug is not None and slug != EVERY_PROJECT:
                assert type(slug) is Slug, (name, slug)
        if name == "version":
            assert type(value) is ReleaseVersion


def parsed(text: str) -> Any:
    """The command, or the CommandError raised for the text."""
    try:
        return parse(text, sentry_web_host=WEB, sentry_org="acme")
    except CommandError as exc:
        return exc


@given(texts)
def test_any_text_is_a_typed_command_or_a_command_error(text: str) -> None:
    command = parsed(text)
    if isinstance(command, CommandError):
        assert command.message
        assert command.usage
    else:
        assert_typed(command)


@pytest.mark.parametrize("bad", [*BAD_ISSUE_IDS, *LINKS])
@pytest.mark.parametrize("verb", ["issue", "events", "resolve", "ignore", "delete", "assign"])
def test_no_bad_issue_gets_through(verb: str, bad: str) -> None:
    command = parsed(f"{verb} {bad}" + (" me" if verb == "assign" else ""))
    refs = [value for _, value in identifiers(command) if isinstance(value, IssueRef)]
    for ref in refs:
        assert ref.kind == "short_id" or 0 < int(ref.value) < 2**63
