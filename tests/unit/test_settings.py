"""Settings: every problem reported at once, by variable name, with no secret echoed."""

from pathlib import Path

import pytest

from bot.settings import SettingsError, async_database_url, load_settings, sentry_base_url

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


def test_database_urls_get_async_drivers() -> None:
    assert async_database_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert async_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_default_config_file_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "bot.yml").write_text("routes: []\n")
    assert load_settings(BASE, cwd=tmp_path).config_path == tmp_path / "bot.yml"
