"""Process settings: one frozen object read from the environment at start (SPEC §3).

Every problem is collected and reported as one line naming the variable, so an
operator fixes a broken deployment in one pass; secret values are never echoed.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bot.secret import Secret

DEFAULT_DATABASE_URL = "sqlite:///data/bot.sqlite3"
DEFAULT_CONFIG_FILE = "bot.yml"
SECRET_VARIABLES = ("SENTRY_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


class SettingsError(Exception):
    """Raised with every problem found; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs from its environment, validated."""

    sentry_base_url: str
    sentry_token: Secret
    sentry_org: str
    slack_bot_token: Secret
    slack_app_token: Secret | None
    slack_signing_secret: Secret | None
    slack_api_url: str
    database_url: str
    config_path: Path | None
    poll_interval_seconds: int
    port: int
    bind_host: str
    log_format: Literal["text", "json"]
    log_level: str
    storm_threshold: int
    card_retention_days: int
    regression_broadcast: bool

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every credential, so log output can be scrubbed of them."""
        found = [self.sentry_token, self.slack_bot_token]
        found += [s for s in (self.slack_app_token, self.slack_signing_secret) if s]
        return tuple(found)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def sentry_base_url(host: str, *, allow_http: bool) -> str:
    """Turn `SENTRY_HOST` into a base URL: a bare host means https; http only on loopback.

    Raises ValueError with the reason when the value is unusable.
    """
    host = host.strip().rstrip("/")
    if not host:
        raise ValueError("is empty")
    if "://" not in host:
        if "/" in host or " " in host:
            raise ValueError(f"'{host}' is neither a host name nor a URL")
        return f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{host}' must be a host name or an http(s) URL")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise ValueError(
            "plain http is refused for a non-loopback host; use https or set SENTRY_ALLOW_HTTP=true"
        )
    return host


def async_database_url(url: str) -> str:
    """Map a plain SQLAlchemy URL to its asyncio driver (aiosqlite, psycopg)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"'{url}' is not a database URL (like {DEFAULT_DATABASE_URL})")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    raise ValueError(
        f"scheme '{scheme}' is not supported (use sqlite:/// or postgresql+psycopg://)"
    )


def _int_setting(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int, problems: list[str]
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: '{raw}' is not a whole number")
        return default
    if not minimum <= value <= maximum:
        problems.append(f"{name}: {value} is out of range ({minimum} to {maximum})")
        return default
    return value


def load_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    """Read and validate the settings; raise SettingsError listing every problem."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    problems: list[str] = []

    def required(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            problems.append(f"{name}: required but not set")
        return value

    base_url = ""
    try:
        base_url = sentry_base_url(
            env.get("SENTRY_HOST", "sentry.io"),
            allow_http=_truthy(env.get("SENTRY_ALLOW_HTTP", "")),
        )
    except ValueError as exc:
        problems.append(f"SENTRY_HOST: {exc}")

    sentry_token = required("SENTRY_TOKEN")
    org = required("SENTRY_ORG")
    if org and not all(ch.isalnum() or ch in "-_" for ch in org):
        problems.append(f"SENTRY_ORG: '{org}' is not an organization slug")

    bot_token = required("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
    signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    if not app_token and not signing_secret:
        problems.append(
            "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )

    slack_api_url = env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/"
    parts = urlsplit(slack_api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"SLACK_API_URL: '{slack_api_url}' is not an http(s) URL")
    elif parts.scheme == "http" and not _is_loopback(parts.hostname):
        problems.append("SLACK_API_URL: plain http is only allowed for a loopback host")
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"

    database_url = ""
    try:
        database_url = async_database_url(
            env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        )
    except ValueError as exc:
        problems.append(f"DATABASE_URL: {exc}")

    config_path: Path | None = None
    raw_config = env.get("BOT_CONFIG", "").strip()
    if raw_config:
        config_path = Path(raw_config)
        if not config_path.is_absolute():
            config_path = cwd / config_path
        if not config_path.is_file():
            problems.append(f"BOT_CONFIG: file '{raw_config}' does not exist")
    elif (cwd / DEFAULT_CONFIG_FILE).is_file():
        config_path = cwd / DEFAULT_CONFIG_FILE

    bind_host = env.get("HOST", "").strip() or "0.0.0.0"  # noqa: S104 - reachable in containers
    poll = _int_setting(env, "POLL_INTERVAL_SECONDS", 60, 1, 86_400, problems)
    port = _int_setting(env, "PORT", 3000, 1, 65_535, problems)
    storm = _int_setting(env, "STORM_THRESHOLD", 10, 1, 1_000, problems)
    retention = _int_setting(env, "CARD_RETENTION_DAYS", 14, 1, 365, problems)

    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        problems.append(f"LOG_FORMAT: '{log_format}' must be text or json")
        log_format = "text"
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL: '{log_level}' must be DEBUG, INFO, WARNING or ERROR")
        log_level = "INFO"
    broadcast_raw = env.get("REGRESSION_BROADCAST", "true").strip().lower() or "true"
    if broadcast_raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        problems.append(f"REGRESSION_BROADCAST: '{broadcast_raw}' must be true or false")

    if problems:
        raise SettingsError(problems)
    return Settings(
        sentry_base_url=base_url,
        sentry_token=Secret(sentry_token),
        sentry_org=org,
        slack_bot_token=Secret(bot_token),
        slack_app_token=Secret(app_token) if app_token else None,
        slack_signing_secret=Secret(signing_secret) if signing_secret else None,
        slack_api_url=slack_api_url,
        database_url=database_url,
        config_path=config_path,
        poll_interval_seconds=poll,
        port=port,
        bind_host=bind_host,
        log_format="json" if log_format == "json" else "text",
        log_level=log_level,
        storm_threshold=storm,
        card_retention_days=retention,
        regression_broadcast=_truthy(broadcast_raw),
    )
