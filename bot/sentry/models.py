"""Typed views of the Sentry API objects the bot reads, parsed in one place.

Shapes follow Sentry's OpenAPI schema and serializers (see the project's
`tests/contract/sentry/` copies): ids are strings, an issue's `count` is a string
while `userCount` is an int, timestamps are ISO-8601 with a `Z`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

JSON = dict[str, Any]
T = TypeVar("T")


def parse_time(value: object) -> datetime | None:
    """Parse Sentry's ISO-8601 timestamps (`2018-11-06T21:19:55Z`, with or without fraction)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """Format a moment the way Sentry writes it (UTC, seconds, `Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """The project summary embedded in issues."""

    id: str
    slug: str
    name: str
    platform: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ProjectRef:
        return cls(
            id=str(data.get("id", "")),
            slug=_str(data.get("slug")),
            name=_str(data.get("name")) or _str(data.get("slug")),
            platform=data.get("platform") if isinstance(data.get("platform"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class Assignee:
    """An issue's `assignedTo`: a user or a team (Sentry's ActorSerializer)."""

    kind: Literal["user", "team"]
    id: str
    name: str
    email: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Assignee | None:
        if not isinstance(data, Mapping):
            return None
        kind: Literal["user", "team"] = (
            "team" if str(data.get("type", "")).lower().endswith("team") else "user"
        )
        return cls(
            kind=kind,
            id=str(data.get("id", "")),
            name=_str(data.get("name")) or _str(data.get("email")),
            email=data.get("email") if isinstance(data.get("email"), str) else None,
        )

    @property
    def actor_id(self) -> str:
        """The `assignedTo` value that names this actor in an update (`user:1`, `team:2`)."""
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Issue:
    """A Sentry issue (group), as returned by the issue list and detail endpoints."""

    id: str
    short_id: str
    title: str
    culprit: str
    permalink: str
    level: str
    status: str
    substatus: str | None
    status_details: Mapping[str, Any]
    project: ProjectRef
    count: int
    user_count: int
    first_seen: datetime
    last_seen: datetime
    assigned_to: Assignee | None
    platform: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, web_base: str, org: str) -> Issue:
        """Parse one issue object; `permalink` is null for some callers, so build one then."""
        issue_id = str(data.get("id", ""))
        fallback = f"{web_base}/organizations/{org}/issues/{issue_id}/"
        permalink = _str(data.get("permalink")) or fallback
        first_seen = parse_time(data.get("firstSeen")) or datetime.fromtimestamp(0, UTC)
        last_seen = parse_time(data.get("lastSeen")) or first_seen
        details = data.get("statusDetails")
        metadata = data.get("metadata")
        return cls(
            id=issue_id,
            short_id=_str(data.get("shortId"), issue_id),
            title=_str(data.get("title"), "(no title)"),
            culprit=_str(data.get("culprit")),
            permalink=permalink,
            level=_str(data.get("level"), "error"),
            status=_str(data.get("status"), "unresolved"),
            substatus=data.get("substatus") if isinstance(data.get("substatus"), str) else None,
            status_details=dict(details) if isinstance(details, Mapping) else {},
            project=ProjectRef.from_api(data.get("project") or {}),
            count=_int(data.get("count")),
            user_count=_int(data.get("userCount")),
            first_seen=first_seen,
            last_seen=last_seen,
            assigned_to=Assignee.from_api(data.get("assignedTo")),
            platform=data.get("platform") if isinstance(data.get("platform"), str) else None,
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        )


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame of an exception (Sentry sends frames oldest first)."""

    filename: str
    function: str
    line_no: int | None
    in_app: bool
    module: str | None = None


@dataclass(frozen=True, slots=True)
class ExceptionValue:
    type: str
    value: str
    frames: tuple[Frame, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """An event of an issue: the simple list form, or the full form with entries."""

    id: str
    event_id: str
    title: str
    message: str
    date_created: datetime | None
    release: str | None
    environment: str | None
    tags: Mapping[str, str]
    exceptions: tuple[ExceptionValue, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Event:
        tags: dict[str, str] = {}
        for tag in data.get("tags") or []:
            if isinstance(tag, Mapping) and isinstance(tag.get("key"), str):
                tags[tag["key"]] = str(tag.get("value", ""))
        release = data.get("release")
        if isinstance(release, Mapping):
            release = release.get("version")
        exceptions: list[ExceptionValue] = []
        for entry in data.get("entries") or []:
            if not isinstance(entry, Mapping) or entry.get("type") != "exception":
                continue
            for value in (entry.get("data") or {}).get("values") or []:
                if not isinstance(value, Mapping):
                    continue
                raw_frames = ((value.get("stacktrace") or {}).get("frames")) or []
                frames = tuple(
                    Frame(
                        filename=_str(f.get("filename")) or _str(f.get("absPath")) or "?",
                        function=_str(f.get("function")) or "?",
                        line_no=f.get("lineNo") if isinstance(f.get("lineNo"), int) else None,
                        in_app=bool(f.get("inApp")),
                        module=f.get("module") if isinstance(f.get("module"), str) else None,
                    )
                    for f in raw_frames
                    if isinstance(f, Mapping)
                )
                exceptions.append(
                    ExceptionValue(
                        type=_str(value.get("type")),
                        value=_str(value.get("value")),
                        frames=frames,
                    )
                )
        return cls(
            id=str(data.get("id", "")),
            event_id=_str(data.get("eventID")) or str(data.get("id", "")),
            title=_str(data.get("title")),
            message=_str(data.get("message")),
            date_created=parse_time(data.get("dateCreated")),
            release=release if isinstance(release, str) else None,
            environment=tags.get("environment"),
            tags=tags,
            exceptions=tuple(exceptions),
        )


@dataclass(frozen=True, slots=True)
class TeamRef:
    id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Project:
    """A project from the organization's project list or project details."""

    id: str
    slug: str
    name: str
    platform: str | None
    teams: tuple[TeamRef, ...]
    latest_release: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        teams = tuple(
            TeamRef(id=str(t.get("id", "")), slug=_str(t.get("slug")), name=_str(t.get("name")))
            for t in data.get("teams") or []
            if isinstance(t, Mapping)
        )
        latest = data.get("latestRelease")
        if isinstance(latest, Mapping):
            latest = latest.get("version")
        return cls(
            id=str(data.get("id", "")),
            slug=_str(data.get("slug")),
            name=_str(data.get("name")) or _str(data.get("slug")),
            platform=data.get("platform") if isinstance(data.get("platform"), str) else None,
            teams=teams,
            latest_release=latest if isinstance(latest, str) else None,
        )


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    short_version: str
    date_created: datetime | None
    date_released: datetime | None
    new_groups: int
    commit_count: int
    projects: tuple[str, ...]
    url: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Release:
        version = _str(data.get("version"))
        return cls(
            version=version,
            short_version=_str(data.get("shortVersion"), version),
            date_created=parse_time(data.get("dateCreated")),
            date_released=parse_time(data.get("dateReleased")),
            new_groups=_int(data.get("newGroups")),
            commit_count=_int(data.get("commitCount")),
            projects=tuple(
                _str(p.get("slug")) for p in data.get("projects") or [] if isinstance(p, Mapping)
            ),
            url=data.get("url") if isinstance(data.get("url"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class Member:
    """An organization member; `user_id` (not the member id) is what assignment takes."""

    id: str
    email: str
    name: str
    user_id: str | None
    role: str
    pending: bool
    emails: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Member:
        user = data.get("user") if isinstance(data.get("user"), Mapping) else None
        emails: list[str] = []
        if user:
            for item in user.get("emails") or []:
                if isinstance(item, Mapping) and isinstance(item.get("email"), str):
                    emails.append(item["email"])
        role = _str(data.get("orgRole")) or _str(data.get("role")) or "member"
        return cls(
            id=str(data.get("id", "")),
            email=_str(data.get("email")),
            name=_str(data.get("name")) or _str(data.get("email")),
            user_id=str(user["id"]) if user and user.get("id") is not None else None,
            role=role,
            pending=bool(data.get("pending")),
            emails=tuple(emails),
        )


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    slug: str
    name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Team:
        return cls(
            id=str(data.get("id", "")),
            slug=_str(data.get("slug")),
            name=_str(data.get("name")) or _str(data.get("slug")),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; `next_cursor` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None
    hits: int | None = None
