"""The routes-and-digests YAML file: read as untrusted input, validated, reported by line.

Errors name the file, the line of the offending key and the key
(`bot.yml:7: routes[1].channel: ...`), all of them at once, so a broken file never
half-applies. The file is read with a size limit and without YAML aliases (`bot.safe_yaml`),
and no message shows a value longer than a few dozen characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.crontab import crontab_trigger
from bot.safe_yaml import YamlList, YamlMap, YamlProblem, load_document, shown
from bot.sentry.ids import InvalidId, Slug

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
MENTION_ID = re.compile(r"^(S|U|W)[A-Z0-9]{2,}$")
DEFAULT_QUERY = "is:unresolved"
ROUTE_KEYS = {"channel", "projects", "query", "environment", "mention"}
DIGEST_KEYS = {"channel", "cron", "timezone", "projects", "top"}
MAX_FILE_BYTES: Final = 1024 * 1024
MAX_ENTRIES: Final = 1000
MAX_PROBLEMS: Final = 50
MAX_TEXT: Final = 1000


class ConfigError(Exception):
    """The routes file is unusable; `problems` holds one line each, `file:line: key: why`."""

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
    if len(expression) > 200 or len(expression.split()) != 5:
        return f"{shown(expression)} is not a five-field crontab expression"
    try:
        crontab_trigger(expression, timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        return f"{shown(expression)} is not a valid crontab expression ({_cut(str(exc))})"
    return None


def validate_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{shown(name)} is not an IANA time zone name (like Europe/Berlin)"
    return None


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Checker:
    """Collects every problem of one file; each names the line of the offending key."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def fail(self, line: int | None, key: str, message: str) -> None:
        where = f"{self.name}:{line}" if line is not None else self.name
        # A key is text from the file: shown escaped, so one problem is always one line.
        key = key if key.isprintable() else repr(key)[1:-1]
        self.problems.append(f"{where}: {key}: {message}")

    @staticmethod
    def line_of(item: YamlMap, key: str) -> int:
        return item.key_lines.get(key, item.line)

    def unknown_keys(self, item: YamlMap, allowed: set[str], path: str) -> None:
        for key in sorted(set(item) - allowed):
            self.fail(
                self.line_of(item, key),
                f"{path}.{_cut(key, 40)}",
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )

    def text(self, item: YamlMap, key: str, path: str) -> str | None:
        """An optional string value of at most MAX_TEXT characters; None when absent or bad."""
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(self.line_of(item, key), f"{path}.{key}", f"{shown(value)} is not a string")
            return None
        if len(value) > MAX_TEXT:
            self.fail(
                self.line_of(item, key),
                f"{path}.{key}",
                f"is {len(value):,} characters long (at most {MAX_TEXT:,})",
            )
            return None
        return value

    def projects(self, item: YamlMap, path: str) -> tuple[str, ...]:
        raw = item.get("projects")
        if raw is None:
            return ()
        line = self.line_of(item, "projects")
        if not isinstance(raw, YamlList):
            self.fail(line, f"{path}.projects", "must be a list of Sentry project slugs")
            return ()
        slugs: list[str] = []
        for value, item_line in zip(raw, raw.item_lines, strict=True):
            try:
                slugs.append(Slug(value))
            except InvalidId:
                self.fail(
                    item_line, f"{path}.projects", f"{shown(value)} is not a Sentry project slug"
                )
        return tuple(slugs)

    def mentions(self, item: YamlMap, path: str) -> tuple[str, ...]:
        raw = item.get("mention")
        if raw is None:
            return ()
        line = self.line_of(item, "mention")
        what = "a Slack user-group (S…) or user (U…) ID"
        if not isinstance(raw, YamlList):
            self.fail(line, f"{path}.mention", f"must be a list of {what}s")
            return ()
        found: list[str] = []
        for value, item_line in zip(raw, raw.item_lines, strict=True):
            if isinstance(value, str) and MENTION_ID.match(value) and len(value) <= 40:
                found.append(value)
            else:
                self.fail(item_line, f"{path}.mention", f"{shown(value)} is not {what}")
        return tuple(found)

    def channel(self, item: YamlMap, path: str) -> str:
        value = item.get("channel")
        if "channel" not in item:
            self.fail(item.line, f"{path}.channel", "required: a Slack channel ID (like C0123ABCD)")
            return ""
        if not isinstance(value, str) or len(value) > 40 or not CHANNEL_ID.match(value):
            self.fail(
                self.line_of(item, "channel"),
                f"{path}.channel",
                f"{shown(value)} is not a Slack channel ID (like C0123ABCD)",
            )
            return ""
        return value

    def route(self, item: object, index: int, line: int) -> RouteSpec | None:
        path = f"routes[{index}]"
        if not isinstance(item, YamlMap):
            self.fail(line, path, "must be a mapping with at least a channel")
            return None
        self.unknown_keys(item, ROUTE_KEYS, path)
        channel = self.channel(item, path)
        projects = self.projects(item, path)
        mention = self.mentions(item, path)
        query = self.text(item, "query", path) or DEFAULT_QUERY
        environment = self.text(item, "environment", path)
        return RouteSpec(
            channel=channel,
            projects=projects,
            query=query.strip() or DEFAULT_QUERY,
            environment=environment,
            mention=mention,
        )

    def digest(self, item: object, index: int, line: int) -> DigestSpec | None:
        path = f"digests[{index}]"
        if not isinstance(item, YamlMap):
            self.fail(line, path, "must be a mapping with channel and cron")
            return None
        self.unknown_keys(item, DIGEST_KEYS, path)
        channel = self.channel(item, path)
        timezone = item.get("timezone", "UTC")
        tz_problem = (
            validate_timezone(timezone)
            if isinstance(timezone, str)
            else f"{shown(timezone)} is not a string"
        )
        if tz_problem:
            self.fail(self.line_of(item, "timezone"), f"{path}.timezone", tz_problem)
            timezone = "UTC"
        cron = item.get("cron")
        if not isinstance(cron, str):
            self.fail(
                self.line_of(item, "cron"),
                f"{path}.cron",
                "required: a five-field crontab string like '0 9 * * 1-5'",
            )
            cron = ""
        elif problem := validate_cron(cron, timezone):
            self.fail(self.line_of(item, "cron"), f"{path}.cron", problem)
        top = item.get("top", 10)
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 40:
            self.fail(
                self.line_of(item, "top"),
                f"{path}.top",
                f"{shown(top)} must be a whole number from 1 to 40",
            )
            top = 10
        projects = self.projects(item, path)
        return DigestSpec(channel=channel, cron=cron, timezone=timezone, projects=projects, top=top)

    def entries(self, document: YamlMap, key: str) -> YamlList:
        raw = document.get(key)
        line = self.line_of(document, key)
        if raw is None:
            return YamlList(line)
        if not isinstance(raw, YamlList):
            self.fail(line, key, f"must be a list, not {shown(raw)}")
            return YamlList(line)
        if len(raw) > MAX_ENTRIES:
            self.fail(line, key, f"has {len(raw):,} entries (at most {MAX_ENTRIES:,})")
            return YamlList(line)
        return raw

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        problems = self.problems[:MAX_PROBLEMS]
        if len(self.problems) > MAX_PROBLEMS:
            problems.append(f"{self.name}: … and {len(self.problems) - MAX_PROBLEMS:,} more")
        raise ConfigError(problems)


def parse_config(text: str, *, name: str = "bot.yml") -> BotConfig:
    """Parse the file's text; raise ConfigError with every problem found."""
    checker = _Checker(name)
    try:
        document = load_document(text)
    except YamlProblem as problem:
        where = f"{name}:{problem.line}" if problem.line is not None else name
        raise ConfigError([f"{where}: {problem.message}"]) from problem
    if document is None:
        return BotConfig()
    if not isinstance(document, YamlMap):
        raise ConfigError([f"{name}:1: the file must be a mapping with 'routes' and/or 'digests'"])
    checker.unknown_keys(document, {"routes", "digests"}, "(top level)")
    routes_raw = checker.entries(document, "routes")
    digests_raw = checker.entries(document, "digests")
    routes = [
        checker.route(item, i, line)
        for i, (item, line) in enumerate(zip(routes_raw, routes_raw.item_lines, strict=True))
    ]
    digests = [
        checker.digest(item, i, line)
        for i, (item, line) in enumerate(zip(digests_raw, digests_raw.item_lines, strict=True))
    ]
    checker.raise_if_any()
    return BotConfig(
        routes=tuple(r for r in routes if r is not None),
        digests=tuple(d for d in digests if d is not None),
    )


def read_config_text(path: Path) -> str:
    """The file's text, refused when larger than MAX_FILE_BYTES or not UTF-8."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            [f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})"]
        ) from exc
    if len(raw) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 1024
        raise ConfigError([f"{path.name}: larger than {limit} KiB; a routes file is far smaller"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{path.name}:{line}: not UTF-8 text"]) from exc


def load_config(path: Path | None) -> BotConfig:
    if path is None:
        return BotConfig()
    return parse_config(read_config_text(path), name=path.name)
