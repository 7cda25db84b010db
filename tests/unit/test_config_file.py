"""The routes-and-digests file: valid files parse, broken ones name file, line and key."""

import pytest

from bot.config_file import ConfigError, DigestSpec, RouteSpec, parse_config

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
        problems[0] == "bot.yml:2: routes[0].colour: unknown key "
        "(allowed: channel, environment, mention, projects, query)"
    )
    assert (
        problems[1]
        == "bot.yml:2: routes[0].channel: 'general' is not a Slack channel ID (like C0123ABCD)"
    )
    assert problems[2] == "bot.yml:2: routes[0].projects: 'Backend' is not a Sentry project slug"
    assert problems[3].startswith("bot.yml:6: digests[0].cron: '0 25 * * *' is not a valid crontab")
    assert problems[4].startswith("bot.yml:8: digests[1].timezone: 'Mars/Olympus' is not an IANA")
    assert (
        problems[5]
        == "bot.yml:11: digests[2].cron: '0 9 * *' is not a five-field crontab expression"
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
