"""Typed views of the Sentry API objects the bot reads, parsed in one place.

Shapes follow Sentry's OpenAPI schema and serializers (see the project's
`tests/contract/sentry/` copies): ids are strings, an issue's `count` is a string
while `userCount` is an int, timestamps are ISO-8601 with a `Z`.

Each object is parsed on its own (per-item tolerance): identifiers become the types of
`bot.sentry.ids` or the object is refused with `UnreadableItem` (the caller skips it and
keeps the rest of the page); everything else is clamped by `bot.sentry.bounds` to what the
store and Slack accept, so no value read here can fail later. Links are trusted only on the
Sentry host, its subdomains or the organization's own URL (`links.organizationUrl` of
`GET /api/0/organizations/{org}/`, Sentry `OrganizationSerializer`); any other permalink is
replaced by one built from the web base, the organization and the issue id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from bot.sentry import bounds
from bot.sentry.ids import Cursor, InvalidId, IssueId, ReleaseVersion, ShortId, Slug

JSON = dict[str, Any]
T = TypeVar("T")

# A link Slack and browsers read the same way: no user info, no backslash, no space or control
# character, an ASCII host (a `\\` is a `/` to browsers but not to `urlsplit`).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!#-\[\]-~]*)?")
_DIGITS = re.compile(r"[0-9]{1,19}")
# What the card ledger stores of an issue's status and substatus (`cards.status`, `.substatus`).
MAX_STATUS = 32
MAX_SUBSTATUS = 40


class UnreadableItem(ValueError):
    """One object of a Sentry answer the bot cannot use; `key` names it for logging once."""

    def __init__(self, kind: str, key: str, reason: str) -> None:
        super().__init__(f"unreadable Sentry {kind} {key}: {reason}")
        self.kind = kind
        self.key = key
        self.reason = reason


def parse_time(value: object) -> datetime | None:
    """Parse Sentry's ISO-8601 timestamps (`2018-11-06T21:19:55Z`, with or without fraction),
    in UTC and clamped into `bounds.EARLIEST`..`bounds.LATEST`."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return bounds.moment(parsed)


def format_time(moment: datetime) -> str:
    """Format a moment the way Sentry writes it (UTC, seconds, `Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str(value: object, default: str = "", limit: int = bounds.MAX_TEXT) -> str:
    return bounds.text(value, limit, default)


def _word(value: object, default: str = "") -> str:
    return bounds.text(value, bounds.MAX_WORD, default)


def _opt(value: object) -> str | None:
    return bounds.optional_text(value)


def _int(value: object) -> int:
    return bounds.count(value)


def _ref(value: object) -> str:
    """An id Sentry sends as a string or a number (releases send numbers), as bounded text."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(bounds.count(value))
    return _word(value)


def _numeric(value: object) -> str | None:
    """A numeric id (user, team, member) or None: it ends up in `assignedTo` bodies."""
    text = _ref(value)
    return text if _DIGITS.fullmatch(text) else None


def _slug(value: object, kind: str, key: str) -> Slug:
    try:
        return Slug(value)
    except InvalidId as exc:
        raise UnreadableItem(kind, key, "a project slug Sentry would not make") from exc


def _version(value: object, kind: str, key: str) -> ReleaseVersion:
    try:
        return ReleaseVersion(value)
    except InvalidId as exc:
        raise UnreadableItem(kind, key, "a release version Sentry would not accept") from exc


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Where issue links may point: the Sentry web base, its subdomains, the org's own URL."""

    web_base: str
    org: str
    organization_url: str | None = None

    def issue_url(self, issue_id: IssueId) -> str:
        return f"{self.web_base.rstrip('/')}/organizations/{self.org}/issues/{issue_id}/"

    def trusted(self, url: str) -> bool:
        if not _PLAIN_URL.fullmatch(url):
            return False
        target = _origin(url)
        if target is None:
            return False
        for base in (self.web_base, self.organization_url):
            origin = _origin(base) if base else None
            if origin is None:
                continue
            scheme, host, port = origin
            if target[2] != port or (target[0] != scheme and target[0] != "https"):
                continue
            if target[1] == host or target[1].endswith("." + host):
                return True
        return False

    def permalink(self, value: object, issue_id: IssueId) -> str:
        """Sentry's permalink when it points at Sentry itself, else one built from the base."""
        if isinstance(value, str) and len(value) <= bounds.MAX_URL and self.trusted(value):
            return value
        return self.issue_url(issue_id)


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """The project summary embedded in issues."""

    id: str
    slug: Slug
    name: str
    platform: str | None = None

    @classmethod
    def from_api(cls, data: object, *, owner: str = "?") -> ProjectRef:
        """Parse the summary; an issue without a usable project slug cannot be routed."""
        if not isinstance(data, Mapping):
            raise UnreadableItem("issue", owner, "no project")
        slug = _slug(data.get("slug"), "issue", owner)
        return cls(
            id=_ref(data.get("id")),
            slug=slug,
            name=_str(data.get("name"), limit=bounds.MAX_WORD) or slug,
            platform=_opt(data.get("platform")),
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
        """None when unassigned, or when the actor has no numeric id (it could not be named
        in an update)."""
        if not isinstance(data, Mapping):
            return None
        actor_id = _numeric(data.get("id"))
        if actor_id is None:
            return None
        kind: Literal["user", "team"] = (
            "team" if _word(data.get("type")).lower().endswith("team") else "user"
        )
        return cls(
            kind=kind,
            id=actor_id,
            name=_word(data.get("name")) or _word(data.get("email")),
            email=_opt(data.get("email")),
        )

    @property
    def actor_id(self) -> str:
        """The `assignedTo` value that names this actor in an update (`user:1`, `team:2`)."""
        return f"{self.kind}:{self.id}"


def _issue_id(data: Mapping[str, Any]) -> IssueId:
    raw_id = data.get("id")
    try:
        return IssueId(raw_id)
    except InvalidId as exc:
        raise UnreadableItem("issue", _word(repr(raw_id))[:40], "no numeric id") from exc


def _status(data: Mapping[str, Any]) -> str:
    return bounds.text(data.get("status"), MAX_STATUS, "unresolved") or "unresolved"


def _substatus(data: Mapping[str, Any]) -> str | None:
    return bounds.optional_text(data.get("substatus"), MAX_SUBSTATUS)


@dataclass(frozen=True, slots=True)
class IssueState:
    """What of an issue can change its card (status, substatus, assignee), read the same way
    as `Issue` reads it; enough to compare a card with Sentry, from answers that leave out
    counts, times and sparklines (`collapse=stats`)."""

    id: IssueId
    status: str
    substatus: str | None
    assigned_to: Assignee | None
    # `numComments` stays in collapsed answers (Sentry `GroupSerializerBase.serialize`): how
    # the refresh notices a new comment without asking for the comments.
    num_comments: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> IssueState:
        return cls(
            id=_issue_id(data),
            status=_status(data),
            substatus=_substatus(data),
            assigned_to=Assignee.from_api(data.get("assignedTo")),
            num_comments=_int(data.get("numComments")),
        )


@dataclass(frozen=True, slots=True)
class Issue:
    """A Sentry issue (group), as returned by the issue list and detail endpoints."""

    id: IssueId
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
    num_comments: int = 0

    @classmethod
    def from_api(
        cls,
        data: Mapping[str, Any],
        *,
        web_base: str,
        org: str,
        organization_url: str | None = None,
    ) -> Issue:
        """Parse one issue object; raises `UnreadableItem` when it has no usable id or project.

        `permalink` is null for some callers, and may point anywhere: it is kept only on the
        Sentry host (`LinkPolicy`), otherwise one is built.
        """
        issue_id = _issue_id(data)
        links = LinkPolicy(web_base=web_base, org=org, organization_url=organization_url)
        first_seen = parse_time(data.get("firstSeen")) or bounds.EARLIEST
        last_seen = parse_time(data.get("lastSeen")) or first_seen
        try:
            short_id: str = ShortId(data.get("shortId"))
        except InvalidId:
            short_id = issue_id
        return cls(
            id=issue_id,
            short_id=short_id,
            title=_str(data.get("title"), "(no title)"),
            culprit=_str(data.get("culprit")),
            permalink=links.permalink(data.get("permalink"), issue_id),
            level=_word(data.get("level"), "error"),
            status=_status(data),
            substatus=_substatus(data),
            status_details=bounds.mapping(data.get("statusDetails")),
            project=ProjectRef.from_api(data.get("project"), owner=issue_id),
            count=_int(data.get("count")),
            user_count=_int(data.get("userCount")),
            first_seen=first_seen,
            last_seen=last_seen,
            assigned_to=Assignee.from_api(data.get("assignedTo")),
            platform=_opt(data.get("platform")),
            metadata=bounds.mapping(data.get("metadata")),
            num_comments=_int(data.get("numComments")),
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


MAX_FRAMES = 200
MAX_EXCEPTIONS = 20
MAX_TAGS = 200


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object, limit: int) -> list[Any]:
    return value[:limit] if isinstance(value, list) else []


def _frame(data: Mapping[str, Any]) -> Frame:
    line = data.get("lineNo")
    return Frame(
        filename=_word(data.get("filename")) or _word(data.get("absPath")) or "?",
        function=_word(data.get("function")) or "?",
        line_no=bounds.count(line)
        if isinstance(line, int) and not isinstance(line, bool)
        else None,
        in_app=data.get("inApp") is True,
        module=_opt(data.get("module")),
    )


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
        for tag in _list(data.get("tags"), MAX_TAGS):
            if isinstance(tag, Mapping) and isinstance(tag.get("key"), str):
                value = tag.get("value")
                shown = _word(value) if isinstance(value, str) else _word(_ref(value))
                tags[_word(tag["key"])] = shown
        release = data.get("release")
        if isinstance(release, Mapping):
            release = release.get("version")
        exceptions: list[ExceptionValue] = []
        for entry in _list(data.get("entries"), MAX_EXCEPTIONS):
            if not isinstance(entry, Mapping) or entry.get("type") != "exception":
                continue
            for value in _list(_mapping(entry.get("data")).get("values"), MAX_EXCEPTIONS):
                if not isinstance(value, Mapping):
                    continue
                raw_frames = _list(_mapping(value.get("stacktrace")).get("frames"), MAX_FRAMES)
                frames = tuple(_frame(f) for f in raw_frames if isinstance(f, Mapping))
                exceptions.append(
                    ExceptionValue(
                        type=_word(value.get("type")),
                        value=_str(value.get("value")),
                        frames=frames,
                    )
                )
        event_id = _ref(data.get("id"))
        return cls(
            id=event_id,
            event_id=_word(data.get("eventID")) or event_id,
            title=_str(data.get("title")),
            message=_str(data.get("message")),
            date_created=parse_time(data.get("dateCreated")),
            release=_opt(release),
            environment=tags.get("environment"),
            tags=tags,
            exceptions=tuple(exceptions[:MAX_EXCEPTIONS]),
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
    slug: Slug
    name: str
    platform: str | None
    teams: tuple[TeamRef, ...]
    latest_release: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        project_id = _ref(data.get("id"))
        slug = _slug(data.get("slug"), "project", project_id or "?")
        teams = tuple(
            TeamRef(id=_ref(t.get("id")), slug=_word(t.get("slug")), name=_word(t.get("name")))
            for t in _list(data.get("teams"), bounds.MAX_JSON_ITEMS)
            if isinstance(t, Mapping)
        )
        latest = data.get("latestRelease")
        if isinstance(latest, Mapping):
            latest = latest.get("version")
        return cls(
            id=project_id,
            slug=slug,
            name=_word(data.get("name")) or slug,
            platform=_opt(data.get("platform")),
            teams=teams,
            latest_release=_opt(latest),
        )


@dataclass(frozen=True, slots=True)
class Release:
    version: ReleaseVersion
    short_version: str
    date_created: datetime | None
    date_released: datetime | None
    new_groups: int
    commit_count: int
    projects: tuple[str, ...]
    url: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Release:
        version = _version(data.get("version"), "release", _ref(data.get("id")) or "?")
        url = data.get("url")
        return cls(
            version=version,
            short_version=_word(data.get("shortVersion"), version),
            date_created=parse_time(data.get("dateCreated")),
            date_released=parse_time(data.get("dateReleased")),
            new_groups=_int(data.get("newGroups")),
            commit_count=_int(data.get("commitCount")),
            projects=tuple(
                _word(p.get("slug"))
                for p in _list(data.get("projects"), bounds.MAX_JSON_ITEMS)
                if isinstance(p, Mapping)
            ),
            url=url
            if isinstance(url, str) and _PLAIN_URL.fullmatch(url[: bounds.MAX_URL])
            else None,
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
        user = _mapping(data.get("user"))
        emails: list[str] = []
        for item in _list(user.get("emails"), bounds.MAX_JSON_ITEMS):
            if isinstance(item, Mapping) and isinstance(item.get("email"), str):
                emails.append(_word(item["email"]))
        role = _word(data.get("orgRole")) or _word(data.get("role")) or "member"
        return cls(
            id=_ref(data.get("id")),
            email=_word(data.get("email")),
            name=_word(data.get("name")) or _word(data.get("email")),
            user_id=_numeric(user.get("id")),
            role=role,
            pending=data.get("pending") is True,
            emails=tuple(emails),
        )


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment (note) on an issue: an activity of type `note` (Sentry `GroupNotesEndpoint`,
    `ActivitySerializer`): `{id, type, data: {text}, user: {id, name, email} | null,
    dateCreated}`; `author_id` is None for a comment without a user."""

    id: int
    text: str
    author_id: str | None
    author_name: str
    author_email: str
    created: datetime

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Comment:
        raw_id = _ref(data.get("id"))
        if not _DIGITS.fullmatch(raw_id):
            raise UnreadableItem("comment", repr(data.get("id"))[:40], "no numeric id")
        if data.get("type", "note") != "note":
            raise UnreadableItem("comment", raw_id, "not a note")
        user = _mapping(data.get("user"))
        email = _word(user.get("email"))
        return cls(
            id=bounds.count(raw_id),
            text=_str(_mapping(data.get("data")).get("text")),
            author_id=_numeric(user.get("id")),
            author_name=_word(user.get("name")) or email or _word(user.get("username")),
            author_email=email,
            created=parse_time(data.get("dateCreated")) or bounds.EARLIEST,
        )


@dataclass(frozen=True, slots=True)
class MemberTeams:
    """The slugs of the teams a member belongs to (Sentry member details, `teams`, from
    `OrganizationMemberWithTeamsSerializer` in `src/sentry/api/serializers/models/
    organization_member/`)."""

    member_id: str
    teams: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MemberTeams:
        slugs: list[str] = []
        for item in _list(data.get("teams"), bounds.MAX_JSON_ITEMS):
            if isinstance(item, str) and item:
                slugs.append(_word(item))
        return cls(member_id=_ref(data.get("id")), teams=tuple(dict.fromkeys(slugs)))


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    slug: str
    name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Team:
        team_id = _numeric(data.get("id"))
        if team_id is None:
            raise UnreadableItem("team", _word(repr(data.get("id")))[:40], "no numeric id")
        slug = _word(data.get("slug"))
        return cls(id=team_id, slug=slug, name=_word(data.get("name")) or slug)


@dataclass(frozen=True, slots=True)
class Organization:
    """The organization the token belongs to; `organization_url` is where its links live
    (`links.organizationUrl`, e.g. `https://acme.sentry.io`)."""

    slug: Slug
    name: str
    organization_url: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Organization:
        slug = _slug(data.get("slug"), "organization", "?")
        url = _mapping(data.get("links")).get("organizationUrl")
        return cls(
            slug=slug,
            name=_word(data.get("name")) or slug,
            organization_url=(
                url
                if isinstance(url, str) and _PLAIN_URL.fullmatch(url[: bounds.MAX_URL])
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; `next_cursor` is None on the last page.

    `skipped` lists the objects of the page that could not be read (left out of `items`).
    """

    items: tuple[T, ...]
    next_cursor: Cursor | None
    hits: int | None = None
    skipped: tuple[UnreadableItem, ...] = ()
