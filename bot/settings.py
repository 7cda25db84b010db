"""Process settings: one frozen object read from the environment at start, every value
parsed as untrusted input.

Every problem is collected and reported as one line naming the variable, together with the
routes file's problems (`load_configuration`), so an operator fixes a broken deployment in one
pass. Credentials, URLs that may hold a password (`DATABASE_URL`, `SENTRY_HOST`) and secret
values are never echoed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bot.config_file import BotConfig, ConfigError, load_config
from bot.secret import Secret
from bot.sentry.ids import InvalidId, Slug
from bot.store.database import async_database_url

DEFAULT_DATABASE_URL = "sqlite:///data/bot.sqlite3"
DEFAULT_CONFIG_FILE = "bot.yml"
SECRET_VARIABLES = (
    "SENTRY_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SENTRY_WEBHOOK_SECRET",
)


class SettingsError(Exception):
    """Raised with every problem found; `problems` holds one line per variable (or per
    `file:line: key` of the routes file); `config_path` is the routes file, when known."""

    def __init__(self, problems: list[str], *, config_path: Path | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.config_path = config_path


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
    # Each triage action from Slack also leaves a comment in Sentry naming the person.
    activity_notes: bool = True
    # The internal integration's client secret: Sentry webhooks are accepted when set.
    sentry_webhook_secret: Secret | None = None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every credential, so log output can be scrubbed of them."""
        found = [self.sentry_token, self.slack_bot_token]
        optional = (self.slack_app_token, self.slack_signing_secret, self.sentry_webhook_secret)
        found += [s for s in optional if s]
        return tuple(found)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(value: str) -> str:
    """A non-secret value as an error message may show it: quoted, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEAN_WORDS |= {"0": False, "false": False, "no": False, "off": False}
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PATH = re.compile(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*")


def _boolean(value: str) -> bool:
    """true/false (also yes/no, on/off, 1/0), ValueError otherwise."""
    word = value.strip().lower()
    if word not in _BOOLEAN_WORDS:
        raise ValueError(f"{_shown(value)} must be true or false")
    return _BOOLEAN_WORDS[word]


def _valid_host(host: str) -> bool:
    """A DNS host name (RFC 1123 labels) or an IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def http_base_url(value: str, *, allow_http: bool, http_hint: str) -> str:
    """A base URL made of scheme, host, optional port and path only.

    A bare host means https. Credentials (`user:pass@`), a query, a fragment or any other
    scheme are refused; plain http only for a loopback host or when `allow_http`. Raises
    ValueError with the reason, which never repeats the value (it might hold a password).
    """
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    if not text.isprintable() or any(ch.isspace() for ch in text):
        raise ValueError("contains spaces or control characters")
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # an unclosed [IPv6 literal
        raise ValueError("is not a URL like https://sentry.example.com[:port][/path]") from exc
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("has a port that is not a number from 1 to 65535") from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be a host name or an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("must not carry credentials (user:password@); the token is sent apart")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("must not have a query or fragment, only scheme, host, port and path")
    host = parts.hostname or ""
    if not host or not _valid_host(host):
        raise ValueError("does not name a valid host (a DNS name or an IP address)")
    if port == 0:
        raise ValueError("has a port that is not a number from 1 to 65535")
    path = parts.path.rstrip("/")
    if not _PATH.fullmatch(path) or any(seg in (".", "..") for seg in path.split("/")):
        raise ValueError("has a path with characters or segments a base URL cannot hold")
    if parts.scheme == "http" and not (allow_http or _is_loopback(host)):
        raise ValueError(f"plain http is refused for a non-loopback host; {http_hint}")
    shown_host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown_host}{f':{port}' if port else ''}{path}"


def sentry_base_url(host: str, *, allow_http: bool) -> str:
    """Turn `SENTRY_HOST` into a base URL: a bare host means https; http only on loopback."""
    return http_base_url(
        host, allow_http=allow_http, http_hint="use https or set SENTRY_ALLOW_HTTP=true"
    )


def _int_setting(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int, problems: list[str]
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        problems.append(f"{name}: {_shown(raw)} is not a whole number")
        return default
    value = int(raw)
    if not minimum <= value <= maximum:
        problems.append(f"{name}: {value} is out of range ({minimum} to {maximum})")
        return default
    return value


def _token(env: Mapping[str, str], name: str, prefix: str, what: str, problems: list[str]) -> str:
    """A credential: checked for shape only, and never repeated in a message."""
    value = env.get(name, "").strip()
    if not value:
        return ""
    if not value.isascii() or not value.isprintable() or " " in value or len(value) > 2_000:
        problems.append(f"{name}: contains characters a token never has (check the copy)")
    elif prefix and not value.startswith(prefix):
        problems.append(f"{name}: must be {what} starting with {prefix}")
    return value


def _config_path(env: Mapping[str, str], cwd: Path, problems: list[str]) -> Path | None:
    raw = env.get("BOT_CONFIG", "").strip()
    try:
        if raw:
            path = Path(raw)
            path = path if path.is_absolute() else cwd / path
            if not path.is_file():
                problems.append(f"BOT_CONFIG: file {_shown(raw)} does not exist")
                return None
            return path
        default = cwd / DEFAULT_CONFIG_FILE
        if default.is_dir():
            problems.append(
                f"BOT_CONFIG: {DEFAULT_CONFIG_FILE} is a directory, not a file (a container "
                "bind mount of a file that did not exist? copy bot.example.yml to bot.yml)"
            )
            return None
        return default if default.is_file() else None
    except (OSError, ValueError):
        problems.append(f"BOT_CONFIG: {_shown(raw)} is not a usable file path")
        return None


def load_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    """Read and validate the settings; raise SettingsError listing every problem."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    problems: list[str] = []

    def required(name: str, value: str) -> str:
        if not value and not any(p.startswith(f"{name}:") for p in problems):
            problems.append(f"{name}: required but not set")
        return value

    allow_http = False
    try:
        allow_http = _boolean(env.get("SENTRY_ALLOW_HTTP", "") or "false")
    except ValueError as exc:
        problems.append(f"SENTRY_ALLOW_HTTP: {exc}")
    base_url = ""
    try:
        base_url = sentry_base_url(env.get("SENTRY_HOST", "") or "sentry.io", allow_http=allow_http)
    except ValueError as exc:
        problems.append(f"SENTRY_HOST: {exc}")

    sentry_token = required("SENTRY_TOKEN", _token(env, "SENTRY_TOKEN", "", "", problems))
    org = required("SENTRY_ORG", env.get("SENTRY_ORG", "").strip())
    if org:
        try:
            org = Slug(org)
        except InvalidId:
            problems.append(
                f"SENTRY_ORG: {_shown(org)} is not an organization slug (the part after "
                "/organizations/ in Sentry's URLs, like acme)"
            )

    bot_token = required(
        "SLACK_BOT_TOKEN",
        _token(env, "SLACK_BOT_TOKEN", "xoxb-", "a bot token", problems),
    )
    app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", "an app-level token", problems)
    signing_secret = _token(env, "SLACK_SIGNING_SECRET", "", "", problems)
    if not app_token and not signing_secret and not env.get("SLACK_APP_TOKEN", "").strip():
        problems.append(
            "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )

    slack_api_url = ""
    try:
        slack_api_url = (
            http_base_url(
                env.get("SLACK_API_URL", "") or "https://slack.com/api/",
                allow_http=False,
                http_hint="use https",
            )
            + "/"
        )
    except ValueError as exc:
        problems.append(f"SLACK_API_URL: {exc}")

    database_url = ""
    try:
        database_url = async_database_url(
            env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL, cwd=cwd
        )
    except ValueError as exc:
        problems.append(f"DATABASE_URL: {exc}")

    config_path = _config_path(env, cwd, problems)

    bind_host = env.get("HOST", "").strip() or "0.0.0.0"  # noqa: S104 - reachable in containers
    if not _valid_host(bind_host.strip("[]").lower()):
        problems.append(f"HOST: {_shown(bind_host)} is not an address to listen on")
        bind_host = "0.0.0.0"  # noqa: S104
    poll = _int_setting(env, "POLL_INTERVAL_SECONDS", 60, 1, 86_400, problems)
    port = _int_setting(env, "PORT", 3000, 1, 65_535, problems)
    storm = _int_setting(env, "STORM_THRESHOLD", 10, 1, 1_000, problems)
    retention = _int_setting(env, "CARD_RETENTION_DAYS", 14, 1, 365, problems)

    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        problems.append(f"LOG_FORMAT: {_shown(log_format)} must be text or json")
        log_format = "text"
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL: {_shown(log_level)} must be DEBUG, INFO, WARNING or ERROR")
        log_level = "INFO"
    webhook_secret = _token(env, "SENTRY_WEBHOOK_SECRET", "", "", problems)
    broadcast = True
    try:
        broadcast = _boolean(env.get("REGRESSION_BROADCAST", "") or "true")
    except ValueError as exc:
        problems.append(f"REGRESSION_BROADCAST: {exc}")
    activity_notes = True
    try:
        activity_notes = _boolean(env.get("SENTRY_ACTIVITY_NOTES", "") or "true")
    except ValueError as exc:
        problems.append(f"SENTRY_ACTIVITY_NOTES: {exc}")

    if problems:
        raise SettingsError(problems, config_path=config_path)
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
        regression_broadcast=broadcast,
        activity_notes=activity_notes,
        sentry_webhook_secret=Secret(webhook_secret) if webhook_secret else None,
    )


def load_configuration(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> tuple[Settings, BotConfig]:
    """Settings and the routes file checked in one pass: every problem of both at once."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(env, cwd=cwd)
        config_path = settings.config_path
    except SettingsError as exc:
        problems.extend(exc.problems)
        config_path = exc.config_path
    config = BotConfig()
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems or settings is None:
        raise SettingsError(problems, config_path=config_path)
    return settings, config
