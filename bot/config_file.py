"""The routes-and-digests YAML file (SPEC §3): parsed, validated, reported by line.

Errors name the file, the line and the key (`bot.yml:7: routes[1].channel: ...`),
all of them at once, so a broken file never half-applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.crontab import crontab_trigger

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
MENTION_ID = re.compile(r"^(S|U|W)[A-Z0-9]{2,}$")
PROJECT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_QUERY = "is:unresolved"
ROUTE_KEYS = {"channel", "projects", "query", "environment", "mention"}
DIGEST_KEYS = {"channel", "cron", "timezone", "projects", "top"}


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """Where a channel's alerts come from; `projects=()` means every project."""

    channel: str
    projects: tuple[str, ...] = ()
    query: str = DEFAULT_QUERY
    environment: str | None = None
    mention: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestSpec:
    channel: str
    cron: str
    timezone: str = "UTC"
    projects: tuple[str, ...] = ()
    top: int = 10


@dataclass(frozen=True, slots=True)
class BotConfig:
    routes: tuple[RouteSpec, ...] = ()
    digests: tuple[DigestSpec, ...] = ()


def validate_cron(expression: str, timezone: str = "UTC") -> str | None:
    """Return why a five-field crontab expression is unusable, or None when it is fine."""
    if len(expression.split()) != 5:
        return f"'{expression}' is not a five-field crontab expression"
    try:
        crontab_trigger(expression, timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        return f"'{expression}' is not a valid crontab expression ({exc})"
    return None


def validate_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{name}' is not an IANA time zone name (like Europe/Berlin)"
    return None


class _LineLoader(yaml.SafeLoader):
    """Safe loader that remembers the line of every mapping (as `__line__`)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def fail(self, line: object, key: str, message: str) -> None:
        where = f"{self.name}:{line}" if isinstance(line, int) else self.name
        self.problems.append(f"{where}: {key}: {message}")

    def string_list(
        self, item: dict[str, Any], key: str, path: str, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        raw = item.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.fail(item["__line__"], f"{path}.{key}", f"must be a list of {what}")
            return ()
        for value in raw:
            if not pattern.match(value):
                self.fail(item["__line__"], f"{path}.{key}", f"'{value}' is not {what}")
        return tuple(raw)

    def unknown_keys(self, item: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(item) - allowed - {"__line__"}):
            self.fail(
                item["__line__"],
                f"{path}.{key}",
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )

    def channel(self, item: dict[str, Any], path: str) -> str:
        value = item.get("channel")
        if not isinstance(value, str) or not CHANNEL_ID.match(value):
            self.fail(
                item["__line__"],
                f"{path}.channel",
                f"{value!r} is not a Slack channel ID (like C0123ABCD)",
            )
            return ""
        return value

    def route(self, item: object, index: int) -> RouteSpec | None:
        path = f"routes[{index}]"
        if not isinstance(item, dict):
            self.fail(None, path, "must be a mapping with at least a channel")
            return None
        self.unknown_keys(item, ROUTE_KEYS, path)
        channel = self.channel(item, path)
        projects = self.string_list(item, "projects", path, PROJECT_SLUG, "a Sentry project slug")
        mention = self.string_list(
            item, "mention", path, MENTION_ID, "a Slack user-group (S…) or user (U…) ID"
        )
        query = item.get("query", DEFAULT_QUERY)
        if not isinstance(query, str):
            self.fail(item["__line__"], f"{path}.query", "must be a Sentry search string")
            query = DEFAULT_QUERY
        environment = item.get("environment")
        if environment is not None and not isinstance(environment, str):
            self.fail(item["__line__"], f"{path}.environment", "must be a string")
            environment = None
        return RouteSpec(
            channel=channel,
            projects=projects,
            query=query.strip() or DEFAULT_QUERY,
            environment=environment,
            mention=mention,
        )

    def digest(self, item: object, index: int) -> DigestSpec | None:
        path = f"digests[{index}]"
        if not isinstance(item, dict):
            self.fail(None, path, "must be a mapping with channel and cron")
            return None
        line = item["__line__"]
        self.unknown_keys(item, DIGEST_KEYS, path)
        channel = self.channel(item, path)
        timezone = item.get("timezone", "UTC")
        tz_problem = (
            validate_timezone(timezone) if isinstance(timezone, str) else "must be a string"
        )
        if tz_problem:
            self.fail(line, f"{path}.timezone", tz_problem)
            timezone = "UTC"
        cron = item.get("cron")
        if not isinstance(cron, str):
            self.fail(
                line, f"{path}.cron", "required: a five-field crontab string like '0 9 * * 1-5'"
            )
            cron = ""
        elif problem := validate_cron(cron, timezone):
            self.fail(line, f"{path}.cron", problem)
        top = item.get("top", 10)
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 40:
            self.fail(line, f"{path}.top", f"{top!r} must be a whole number from 1 to 40")
            top = 10
        projects = self.string_list(item, "projects", path, PROJECT_SLUG, "a Sentry project slug")
        return DigestSpec(channel=channel, cron=cron, timezone=timezone, projects=projects, top=top)


def parse_config(text: str, *, name: str = "bot.yml") -> BotConfig:
    """Parse the file's text; raise ConfigError with every problem found."""
    checker = _Checker(name)
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        raise ConfigError(
            [f"{name}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from exc
    if document is None:
        return BotConfig()
    if not isinstance(document, dict):
        raise ConfigError([f"{name}: the file must be a mapping with 'routes' and/or 'digests'"])
    checker.unknown_keys(document, {"routes", "digests"}, "(top level)")
    routes_raw = document.get("routes") or []
    digests_raw = document.get("digests") or []
    if not isinstance(routes_raw, list):
        checker.fail(document["__line__"], "routes", "must be a list")
        routes_raw = []
    if not isinstance(digests_raw, list):
        checker.fail(document["__line__"], "digests", "must be a list")
        digests_raw = []
    routes = [checker.route(item, i) for i, item in enumerate(routes_raw)]
    digests = [checker.digest(item, i) for i, item in enumerate(digests_raw)]
    if checker.problems:
        raise ConfigError(checker.problems)
    return BotConfig(
        routes=tuple(r for r in routes if r is not None),
        digests=tuple(d for d in digests if d is not None),
    )


def load_config(path: Path | None) -> BotConfig:
    if path is None:
        return BotConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from exc
    return parse_config(text, name=path.name)
