"""The routes-and-digests file: valid files parse, broken ones name file, line and key, and no
hostile file (alias bomb, deep nesting, huge values, random shapes) escapes as anything but a
ConfigError of a few short lines."""

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.config_file import (
    MAX_FILE_BYTES,
    MAX_PROBLEMS,
    ConfigError,
    DigestSpec,
    RouteSpec,
    load_config,
    parse_config,
)

VALID = """\
routes:
  - channel: C0123ABCD
    projects: [backend, web]
    query: "is:unresolved level:error"
    environment: production
    mention: [S0123ONCALL]
  - channel: G0PRIVATE1
digests:
  - channel: C0123ABCD
    cron: "0 9 * * 1-5"
    timezone: Europe/Berlin
    projects: [backend]
    top: 10
"""


def test_valid_file() -> None:
    config = parse_config(VALID)
    assert config.routes == (
        RouteSpec(
            channel="C0123ABCD",
            projects=("backend", "web"),
            query="is:unresolved level:error",
            environment="production",
            mention=("S0123ONCALL",),
        ),
        RouteSpec(channel="G0PRIVATE1"),
    )
    assert config.routes[1].query == "is:unresolved"
    assert config.digests == (
        DigestSpec(
            channel="C0123ABCD",
            cron="0 9 * * 1-5",
            timezone="Europe/Berlin",
            projects=("backend",),
            top=10,
        ),
    )


def test_empty_file_is_an_empty_config() -> None:
    assert parse_config("").routes == ()


def test_every_problem_names_line_and_key() -> None:
    text = """\
routes:
  - channel: general
    projects: [Backend]
    colour: red
digests:
  - channel: C0123ABCD
    cron: "0 25 * * *"
  - channel: C0123ABCD
    cron: "0 9 * * *"
    timezone: Mars/Olympus
  - channel: C0123ABCD
    cron: "0 9 * *"
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, name="bot.yml")
    problems = caught.value.problems
    assert (
        problems[0] == "bot.yml:4: routes[0].colour: unknown key "
        "(allowed: channel, environment, mention, projects, query)"
    )
    assert (
        problems[1]
        == "bot.yml:2: routes[0].channel: 'general' is not a Slack channel ID (like C0123ABCD)"
    )
    assert problems[2] == "bot.yml:3: routes[0].projects: 'Backend' is not a Sentry project slug"
    assert problems[3].startswith("bot.yml:7: digests[0].cron: '0 25 * * *' is not a valid crontab")
    assert problems[4].startswith("bot.yml:10: digests[1].timezone: 'Mars/Olympus' is not an IANA")
    assert (
        problems[5]
        == "bot.yml:12: digests[2].cron: '0 9 * *' is not a five-field crontab expression"
    )
    assert len(problems) == 6


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(ConfigError, match=r"^bot.yml:2: not valid YAML"):
        parse_config("routes:\n  - channel: C1: x\n")


def test_mentions_must_be_ids() -> None:
    with pytest.raises(ConfigError, match="mention"):
        parse_config("routes:\n  - channel: C0123ABCD\n    mention: ['@channel']\n")


def test_crontab_sunday_is_day_zero_or_seven() -> None:
    """crontab(5) numbers Sunday 0 or 7; both are accepted and mean Sunday."""
    config = parse_config(
        "digests:\n  - channel: C0123ABCD\n    cron: '0 9 * * 7'\n"
        "  - channel: C0123ABCD\n    cron: '0 9 * * 0'\n"
    )
    assert [d.cron for d in config.digests] == ["0 9 * * 7", "0 9 * * 0"]


def test_the_line_is_the_offending_keys_not_the_entrys() -> None:
    text = """\
routes:
  - channel: C0123ABCD
    projects: [web]

    query: 42
    mention:
      - S0123ONCALL
      - "@here"
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, name="bot.yml")
    assert caught.value.problems == [
        "bot.yml:8: routes[0].mention: '@here' is not a Slack user-group (S…) or user (U…) ID",
        "bot.yml:5: routes[0].query: 42 is not a string",
    ]


def test_a_missing_channel_names_the_entrys_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("routes:\n  - channel: C0123ABCD\n  - projects: [web]\n")
    assert caught.value.problems == [
        "bot.yml:3: routes[1].channel: required: a Slack channel ID (like C0123ABCD)"
    ]


ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
routes:
  - channel: *i
"""


def test_an_alias_bomb_is_refused_at_its_first_anchor() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(ALIAS_BOMB)
    assert caught.value.problems == ["bot.yml:1: YAML anchors (&name) are not allowed in this file"]


def test_an_alias_is_refused_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("routes:\n  - channel: C0123ABCD\n    projects: *web\n")
    assert caught.value.problems == ["bot.yml:3: YAML aliases (*name) are not allowed in this file"]


@pytest.mark.parametrize("depth", [11, 1_000, 100_000])
def test_deep_nesting_is_refused_without_recursing(depth: int) -> None:
    with pytest.raises(ConfigError, match=r"^bot.yml:1: .*nest"):
        parse_config("routes: " + "[" * depth + "]" * depth)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "bot.yml"
    path.write_text("routes:\n" + "  - channel: C0123ABCD\n" * (MAX_FILE_BYTES // 22 + 1))
    with pytest.raises(ConfigError, match=r"^bot.yml: larger than 1024 KiB"):
        load_config(path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.yml"
    path.write_bytes(b"routes:\n  - channel: C\xff\n")
    with pytest.raises(ConfigError, match=r"^bot.yml:2: not UTF-8 text$"):
        load_config(path)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^bot.yml:3: duplicate key 'channel'$"):
        parse_config("routes:\n  - channel: C0123ABCD\n    channel: C0123ABCE\n")


def test_a_huge_value_is_never_shown_whole() -> None:
    value = "C" + "X" * 500_000
    with pytest.raises(ConfigError) as caught:
        parse_config(f"routes:\n  - channel: {value}\n    query: {value}\n")
    assert len(str(caught.value)) < 400
    assert "is 500,001 characters long" in str(caught.value)


def test_problems_are_capped() -> None:
    text = "routes:\n" + "  - channel: nope\n" * 200
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == "bot.yml: … and 150 more"


def test_too_many_entries_are_refused_quickly() -> None:
    text = "routes:\n" + "  - channel: C0123ABCD\n" * 5_000
    with pytest.raises(ConfigError, match=r"^bot.yml:1: routes: has 5,000 entries"):
        parse_config(text)


# -- properties: whatever the file holds, only a ConfigError of short, located lines escapes --

ROUTE_FIELDS = {"channel", "projects", "query", "environment", "mention", "cron", "timezone", "top"}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "So"]), max_size=10),
    st.sampled_from(["C0123ABCD", "S0123ONCALL", "web", "0 9 * * 1-5", "Europe/Berlin", ""]),
    st.text(min_size=2_000, max_size=3_000),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(sorted(ROUTE_FIELDS)), st.text(max_size=10)),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


def problems_of(text: str) -> list[str]:
    """The problems `parse_config` reports ([] when the file is valid); nothing else escapes."""
    try:
        parse_config(text, name="bot.yml")
    except ConfigError as error:
        assert error.problems, "a ConfigError always carries at least one problem"  # noqa: PT017
        return error.problems
    return []


def assert_only_located_short_problems(text: str) -> None:
    started = time.perf_counter()
    problems = problems_of(text)
    assert len(problems) <= MAX_PROBLEMS + 1
    for problem in problems:
        assert problem.startswith("bot.yml:") or problem.startswith("bot.yml: ")
        assert len(problem) < 400, problem
        assert "\n" not in problem
    assert time.perf_counter() - started < 5  # a bound against hangs, not a benchmark


@given(st.dictionaries(st.sampled_from(["routes", "digests", "other"]), values, max_size=3))
def test_any_shape_of_document_gives_a_config_or_located_problems(document: Any) -> None:
    assert_only_located_short_problems(yaml.safe_dump(document, allow_unicode=True))


@given(
    st.lists(st.dictionaries(st.sampled_from(sorted(ROUTE_FIELDS)), values, max_size=6), max_size=4)
)
def test_any_entries_give_a_config_or_located_problems(entries: list[Any]) -> None:
    assert_only_located_short_problems(yaml.safe_dump({"routes": entries, "digests": entries}))


@given(st.text(max_size=300))
def test_any_text_gives_a_config_or_located_problems(text: str) -> None:
    assert_only_located_short_problems(text)


@given(
    st.lists(
        st.sampled_from(
            [
                "routes:",
                "digests:",
                "  - ",
                "channel: ",
                "C0123ABCD",
                "&a ",
                "*a",
                "[",
                "]",
                "{",
                "}",
                ": ",
                "\n",
                "    ",
                "!!binary ",
                "!!python/object ",
                "? ",
                "---\n",
                "'",
                '"',
                "2024-13-45",
                "1e999999",
                "\t",
                "\ufeff",
                "\x85",
                "<<: ",
            ]
        ),
        max_size=40,
    )
)
def test_yaml_fragments_give_a_config_or_located_problems(pieces: list[str]) -> None:
    assert_only_located_short_problems("".join(pieces))


@given(st.sampled_from(["projects", "mention", "query", "environment", "channel"]), values)
def test_a_wrong_value_is_reported_at_its_keys_line(key: str, value: Any) -> None:
    route: dict[str, Any] = {"channel": "C0123ABCD", "projects": ["web"], "query": "is:unresolved"}
    route[key] = value
    text = yaml.safe_dump({"routes": [route]}, sort_keys=False, allow_unicode=True)
    key_line = next(
        n for n, line in enumerate(text.splitlines(), 1) if line.lstrip(" -").startswith(f"{key}:")
    )
    problems = problems_of(text)
    assert all(p.split(": ", 2)[1].startswith(f"routes[0].{key}") for p in problems)
    assert all(int(p.split(":")[1]) >= key_line for p in problems)
