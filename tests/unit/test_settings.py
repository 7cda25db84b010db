"""Settings: every problem reported at once, by variable name, with no secret echoed; every
setting's parser takes any string and answers with a value or one named line, never a
traceback."""

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import (
    SettingsError,
    async_database_url,
    load_configuration,
    load_settings,
    sentry_base_url,
)

BASE = {
    "SENTRY_TOKEN": "sntryu_topsecretvalue",
    "SENTRY_ORG": "acme",
    "SLACK_BOT_TOKEN": "xoxb-bot-secret",
    "SLACK_APP_TOKEN": "xapp-1-A111-secret",
}


def test_defaults_in_socket_mode(tmp_path: Path) -> None:
    settings = load_settings(BASE, cwd=tmp_path)
    assert settings.socket_mode
    assert settings.sentry_base_url == "https://sentry.io"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite+aiosqlite:///data/bot.sqlite3"
    assert settings.poll_interval_seconds == 60
    assert settings.port == 3000
    assert settings.config_path is None


def test_every_problem_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-secret-value",
        "POLL_INTERVAL_SECONDS": "0",
        "PORT": "http",
        "SENTRY_HOST": "http://sentry.example.com",
        "DATABASE_URL": "mysql://x",
        "BOT_CONFIG": "missing.yml",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env, cwd=tmp_path)
    problems = caught.value.problems
    names = [p.split(":", 1)[0] for p in problems]
    assert names == [
        "SENTRY_HOST",
        "SENTRY_TOKEN",
        "SENTRY_ORG",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "BOT_CONFIG",
        "POLL_INTERVAL_SECONDS",
        "PORT",
    ]
    assert "xoxp-user-secret-value" not in str(caught.value)


def test_secrets_never_print() -> None:
    settings = load_settings({**BASE}, cwd=Path("/nonexistent"))
    rendered = repr(settings) + str(settings)
    for secret in ("sntryu_topsecretvalue", "xoxb-bot-secret", "xapp-1-A111-secret"):
        assert secret not in rendered
    assert settings.sentry_token.reveal() == "sntryu_topsecretvalue"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sentry.io", "https://sentry.io"),
        ("de.sentry.io", "https://de.sentry.io"),
        ("https://sentry.internal:8443/", "https://sentry.internal:8443"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("http://localhost:9000", "http://localhost:9000"),
    ],
)
def test_sentry_host_forms(value: str, expected: str) -> None:
    assert sentry_base_url(value, allow_http=False) == expected


def test_plain_http_needs_opt_in() -> None:
    with pytest.raises(ValueError, match="SENTRY_ALLOW_HTTP"):
        sentry_base_url("http://sentry.internal", allow_http=False)
    assert sentry_base_url("http://sentry.internal", allow_http=True) == "http://sentry.internal"


def test_http_mode_requires_signing_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in BASE.items() if k != "SLACK_APP_TOKEN"}
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings(env, cwd=tmp_path)
    settings = load_settings({**env, "SLACK_SIGNING_SECRET": "s3cret"}, cwd=tmp_path)
    assert not settings.socket_mode


def test_default_config_file_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "bot.yml").write_text("routes: []\n")
    assert load_settings(BASE, cwd=tmp_path).config_path == tmp_path / "bot.yml"


def test_database_urls_get_async_drivers(tmp_path: Path) -> None:
    assert async_database_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert async_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_database_url("postgres://u:p@h:5433/db") == "postgresql+psycopg://u:p@h:5433/db"
    relative = async_database_url("sqlite:///data/bot.sqlite3", cwd=tmp_path)
    assert relative == "sqlite+aiosqlite:///data/bot.sqlite3"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://bot:hunter2@db:abc/bot", "DATABASE_URL: its port is not a number"),
        ("postgresql://bot:hunter2@db:0/bot", "DATABASE_URL: its port is out of range"),
        ("mysql://bot:hunter2@db/bot", "DATABASE_URL: database 'mysql' is not supported"),
        ("postgresql+asyncpg://bot:hunter2@db/bot", "DATABASE_URL: driver 'asyncpg' is not"),
        ("hunter2", "DATABASE_URL: it is not a database URL"),
        ("sqlite://", "DATABASE_URL: a SQLite URL needs a file path"),
        ("sqlite:///blocker/sub/bot.sqlite3", "DATABASE_URL: the SQLite file's folder would be"),
        ("sqlite:///folder", "DATABASE_URL: the SQLite path is a directory"),
    ],
)
def test_database_url_problems_are_named(tmp_path: Path, url: str, reason: str) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "DATABASE_URL": url}, cwd=tmp_path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(reason)
    assert "hunter2" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_sqlite_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(SettingsError, match="cannot be created here"):
        load_settings({**BASE, "DATABASE_URL": "sqlite:///locked/data/x.db"}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://user:hunter2@sentry.example.com", "must not carry credentials"),
        ("user:hunter2@sentry.example.com", "must not carry credentials"),
        ("javascript:alert(1)", "port that is not a number"),
        ("javascript://alert(1)", "must be a host name or an http"),
        ("ftp://sentry.example.com", "must be a host name or an http"),
        ("https://sentry.example.com/?next=evil", "must not have a query or fragment"),
        ("https://sentry.example.com/#x", "must not have a query or fragment"),
        ("https://exa mple.com", "contains spaces or control characters"),
        ("https://-bad-.example.com", "does not name a valid host"),
        ("https://ex_ample.com", "does not name a valid host"),
        ("https://sentry.example.com:99999", "port that is not a number"),
        ("https://sentry.example.com/a/../b", "has a path"),
        ("https://", "does not name a valid host"),
    ],
)
def test_sentry_host_refuses_everything_but_scheme_host_port_path(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        sentry_base_url(value, allow_http=True)
    assert "hunter2" not in str(caught.value)


def test_sentry_host_keeps_a_path_for_self_hosted_under_a_prefix() -> None:
    assert (
        sentry_base_url("https://tools.example.com/sentry/", allow_http=False)
        == "https://tools.example.com/sentry"
    )
    assert sentry_base_url("http://[::1]:9000", allow_http=False) == "http://[::1]:9000"


def test_sentry_allow_http_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "SENTRY_ALLOW_HTTP": "maybe"}, cwd=tmp_path)
    assert caught.value.problems == ["SENTRY_ALLOW_HTTP: 'maybe' must be true or false"]


def test_settings_and_routes_file_are_checked_in_one_pass(tmp_path: Path) -> None:
    (tmp_path / "bot.yml").write_text("routes:\n  - channel: C0123ABCD\n    projects: Web\n")
    env = {**BASE, "PORT": "http", "SENTRY_HOST": "https://u:p@x"}
    with pytest.raises(SettingsError) as caught:
        load_configuration(env, cwd=tmp_path)
    assert caught.value.problems == [
        "SENTRY_HOST: must not carry credentials (user:password@); the token is sent apart",
        "PORT: 'http' is not a whole number",
        "bot.yml:3: routes[0].projects: must be a list of Sentry project slugs",
    ]


def test_a_directory_named_like_the_routes_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "bot.yml").mkdir()
    with pytest.raises(SettingsError) as caught:
        load_settings(BASE, cwd=tmp_path)
    assert caught.value.problems[0].startswith("BOT_CONFIG: bot.yml is a directory, not a file")


def test_the_webhook_secret_turns_webhooks_on_and_never_prints(tmp_path: Path) -> None:
    assert load_settings({**BASE}, cwd=tmp_path).sentry_webhook_secret is None
    settings = load_settings({**BASE, "SENTRY_WEBHOOK_SECRET": "whsec-value-1"}, cwd=tmp_path)
    assert settings.sentry_webhook_secret is not None
    assert settings.sentry_webhook_secret.reveal() == "whsec-value-1"
    assert settings.sentry_webhook_secret in settings.secrets
    assert "whsec-value-1" not in repr(settings) + str(settings)
    with pytest.raises(SettingsError, match="SENTRY_WEBHOOK_SECRET: contains") as caught:
        load_settings({**BASE, "SENTRY_WEBHOOK_SECRET": "two words"}, cwd=tmp_path)
    assert "two words" not in str(caught.value)


# -- properties: any value of any variable gives settings or named lines, never a secret ------

VARIABLES = (
    "SENTRY_HOST",
    "SENTRY_ALLOW_HTTP",
    "SENTRY_TOKEN",
    "SENTRY_ORG",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "DATABASE_URL",
    "BOT_CONFIG",
    "POLL_INTERVAL_SECONDS",
    "PORT",
    "HOST",
    "STORM_THRESHOLD",
    "CARD_RETENTION_DAYS",
    "REGRESSION_BROADCAST",
    "SENTRY_ACTIVITY_NOTES",
    "SENTRY_WEBHOOK_SECRET",
    "LOG_FORMAT",
    "LOG_LEVEL",
)
SECRET_MARK = "Zq9SECRET"
SECRET_NAMES = (
    "SENTRY_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SENTRY_WEBHOOK_SECRET",
)
URL_NAMES = ("SENTRY_HOST", "SLACK_API_URL", "DATABASE_URL")

unicode_edges = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\n",
        "\u202e",
        "\ufeff",
        "\udcff",
        "é",
        "١٢٣",
        "\U0001d7d9\U0001d7da",
        "\u0085",
        "\uff10",
    ]
)
plain_value = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="ascii"), max_size=60),
    st.builds("".join, st.lists(unicode_edges, max_size=5)),
    st.text(min_size=5_000, max_size=6_000),
    st.sampled_from(
        [
            "https://sentry.io",
            "http://127.0.0.1:9000",
            "sqlite:///x.db",
            "postgresql://u:p@h:abc/d",
            "xoxb-1",
            "xapp-1",
            "99999999999999999999999",
            "-1",
            "1_000",
            "true",
            "../../etc/passwd",
        ]
    ),
)
# Hypothesis also draws constants from this module, the mark included: a value of a variable
# that may be shown (PORT, LOG_LEVEL…) must not carry it by chance.
any_value = plain_value.filter(lambda value: SECRET_MARK.lower() not in value.lower())
secret_value = st.builds(
    lambda prefix, a, b: f"{prefix}{a}{SECRET_MARK}{b}",
    st.sampled_from(["", "xoxb-", "xapp-", "sntryu_"]),
    st.text(max_size=10),
    st.text(max_size=10),
)
url_with_password = st.builds(
    lambda scheme, host, tail: f"{scheme}user:{SECRET_MARK}@{host}{tail}",
    st.sampled_from(["", "https://", "http://", "postgresql://", "sqlite:///"]),
    st.sampled_from(["sentry.io", "127.0.0.1", "db", "[::1]", ""]),
    st.sampled_from(["", ":abc", ":5432/db", "/path", "?q=1"]),
)
NOWHERE = Path("/nonexistent-bot-test")


def value_for(name: str) -> st.SearchStrategy[str]:
    """Values of any shape; credentials and passwords in URLs carry the mark never shown."""
    if name in SECRET_NAMES:
        return secret_value
    if name in URL_NAMES:
        return st.one_of(any_value, url_with_password)
    return any_value


def check_problems(env: Mapping[str, str], cwd: Path) -> list[str]:
    """The problems `load_configuration` reports ([] when it succeeds); nothing else escapes."""
    try:
        load_configuration(env, cwd=cwd)
    except SettingsError as error:
        return error.problems
    return []


def assert_named_and_secret_free(problems: list[str]) -> None:
    for problem in problems:
        name = problem.split(":", 1)[0]
        assert name in VARIABLES or name.startswith("bot.yml"), problem
        assert SECRET_MARK not in problem, problem
        assert "\n" not in problem
        assert len(problem) < 300, problem


@given(
    st.fixed_dictionaries(
        {},
        optional={name: value_for(name) for name in VARIABLES},
    )
)
def test_any_environment_gives_settings_or_named_secret_free_lines(env: dict[str, str]) -> None:
    assert_named_and_secret_free(check_problems(env, NOWHERE))


@given(st.data(), st.sampled_from(VARIABLES))
def test_one_bad_variable_is_named_by_its_own_line(data: st.DataObject, name: str) -> None:
    value = data.draw(value_for(name))
    problems = check_problems({**BASE, name: value}, NOWHERE)
    assert_named_and_secret_free(problems)
    # With an otherwise valid environment, a problem names the variable that changed, or the
    # one it decides about (the signing secret is required only without an app token).
    assert {p.split(":", 1)[0] for p in problems} <= {name, "SLACK_SIGNING_SECRET"}


def sentry_host_outcome(value: str) -> str:
    try:
        return sentry_base_url(value, allow_http=False)
    except ValueError as error:
        return f"refused: {error}"


@given(st.one_of(any_value, url_with_password))
def test_sentry_host_is_a_clean_url_or_a_reason(value: str) -> None:
    outcome = sentry_host_outcome(value)
    assert SECRET_MARK not in outcome
    if not outcome.startswith("refused: "):
        assert outcome.startswith(("https://", "http://127.", "http://[::1]", "http://localhost"))
        assert not any(ch in outcome for ch in "@?# \n")


def database_url_outcome(value: str) -> str:
    try:
        return async_database_url(value, cwd=NOWHERE)
    except ValueError as error:
        return f"refused: {error}"


@given(st.one_of(any_value, url_with_password))
def test_database_url_is_an_async_url_or_a_reason(value: str) -> None:
    outcome = database_url_outcome(value)
    if outcome.startswith("refused: "):
        assert SECRET_MARK not in outcome
    else:
        assert outcome.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://"))


@pytest.mark.parametrize(("value", "expected"), [("", True), ("true", True), ("false", False)])
def test_activity_notes_default_on_and_can_be_turned_off(
    tmp_path: Path, value: str, expected: bool
) -> None:
    settings = load_settings({**BASE, "SENTRY_ACTIVITY_NOTES": value}, cwd=tmp_path)
    assert settings.activity_notes is expected


def test_activity_notes_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "SENTRY_ACTIVITY_NOTES": "sometimes"}, cwd=tmp_path)
    [problem] = caught.value.problems
    assert problem.startswith("SENTRY_ACTIVITY_NOTES: ")
    assert problem.endswith("must be true or false")
