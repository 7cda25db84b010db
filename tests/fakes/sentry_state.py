"""In-memory organization of the fake Sentry: records, their JSON forms, issue update semantics.

JSON shapes follow Sentry's serializers (`src/sentry/api/serializers/models/group.py`) and the
schema examples in `tests/contract/sentry/`: ids are strings (releases excepted), `count` is a
string, times are ISO-8601 with `Z`. Issue updates follow `GroupValidator` and `update_groups`
(Sentry `src/sentry/api/helpers/group_index/validators/group.py` and `…/update.py`).
Every public method takes the lock, so tests may call them from any thread.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.sentry_search import Term, matches_number, matches_time

JSON = dict[str, Any]

# Sentry's base32 alphabet for short ids (`sentry.utils.strings.base32_encode`, Crockford).
_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

STATUSES = ("resolved", "resolvedInNextRelease", "unresolved", "ignored", "muted")
SUBSTATUS_FOR = {
    "ignored": ("archived_until_escalating", "archived_until_condition_met", "archived_forever"),
    "unresolved": ("escalating", "ongoing", "regressed", "new"),
    "resolved": (),
}
IGNORE_KEYS = (
    "ignoreDuration",
    "ignoreCount",
    "ignoreWindow",
    "ignoreUserCount",
    "ignoreUserWindow",
    "snoozeDuration",
)
SIMPLE_FIELDS = ("priority", "isBookmarked", "hasSeen", "isSubscribed", "isPublic", "inbox")
# `WEEK_IN_MINUTES`, the largest ignore window `StatusDetailsValidator` accepts.
MAX_IGNORE_WINDOW = 10080


class ApiError(Exception):
    """An error answer: status and the DRF-shaped body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status} {body!r}")
        self.status = status
        self.body = body


def base32(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 32)
        digits = _BASE32[rest] + digits
        if number == 0:
            return digits


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class ProjectRecord:
    id: int
    slug: str
    name: str
    platform: str
    team_ids: list[int]
    date_created: datetime
    short_counter: int = 0


@dataclass
class IssueRecord:
    id: int
    short_id: str
    project: str
    title: str
    culprit: str
    level: str
    status: str
    substatus: str | None
    status_details: JSON
    assigned: tuple[str, int] | None
    first_seen: datetime
    last_seen: datetime
    count: int
    user_count: int
    priority: str
    platform: str
    environments: list[str]
    releases: list[str]
    tags: dict[str, str]
    flags: dict[str, Any] = field(default_factory=dict)
    events: list[JSON] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    deleted: bool = False


@dataclass
class CommentRecord:
    """An activity of type `note` (Sentry `models/activity.py`, `ActivityType.NOTE`)."""

    id: int
    user: JSON | None
    text: str
    created: datetime


@dataclass
class ReleaseRecord:
    id: int
    version: str
    projects: list[str]
    date_created: datetime
    refs: list[JSON]


@dataclass
class MemberRecord:
    id: int
    user_id: int | None
    email: str
    name: str
    role: str
    pending: bool
    emails: list[str]


@dataclass
class TeamRecord:
    id: int
    slug: str
    name: str
    user_ids: list[int]


class SentryOrgState:
    """One organization's projects, issues, events, releases, members and teams."""

    def __init__(self, *, org: str, clock: Callable[[], float] = time.time) -> None:
        self.org = org
        self.clock = clock
        self.acting_user_id: int | None = None
        self._cond = threading.Condition(threading.RLock())
        self._projects: dict[str, ProjectRecord] = {}
        self._issues: dict[int, IssueRecord] = {}
        self._releases: dict[str, ReleaseRecord] = {}
        self._members: list[MemberRecord] = []
        self._teams: dict[int, TeamRecord] = {}
        self._ids = {"project": 0, "issue": 4_500_000_000, "release": 0, "member": 0, "user": 0}
        self._ids.update({"team": 0, "activity": 7_000_000})
        # Who the token acts as: an internal integration's proxy user (Sentry
        # `sentry_apps/models/sentry_app.py` `proxy_user`), the author of what the app writes.
        self.token_user: JSON = {
            "id": "900001",
            "name": "Sentry Triage",
            "username": "sentry-triage-a1b2c3",
            "email": "",
        }
        self.web_url = "http://sentry.invalid"

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _changed(self) -> None:
        self._cond.notify_all()

    # -- helpers for tests: building the organization ---------------------------------------

    def create_project(
        self,
        slug: str,
        *,
        name: str | None = None,
        platform: str = "python",
        teams: Sequence[str] = (),
    ) -> JSON:
        with self._cond:
            team_ids = [t.id for t in self._teams.values() if t.slug in teams]
            record = ProjectRecord(
                id=self._next_id("project"),
                slug=slug,
                name=name or slug,
                platform=platform,
                team_ids=team_ids,
                date_created=self.now(),
            )
            self._projects[slug] = record
            self._changed()
            return self.project_json(record)

    def create_issue(
        self,
        project_slug: str,
        title: str,
        *,
        culprit: str = "app.main in handler",
        level: str = "error",
        first_seen: datetime | None = None,
        last_seen: datetime | None = None,
        count: int = 1,
        user_count: int = 1,
        priority: str = "high",
        status: str = "unresolved",
        substatus: str | None = "new",
        environment: str = "production",
        release: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> JSON:
        """Create an issue (with its first event) as if Sentry had just grouped an error."""
        with self._cond:
            project = self._projects.get(project_slug) or self._project_for_issue(project_slug)
            project.short_counter += 1
            seen = first_seen or self.now()
            record = IssueRecord(
                id=self._next_id("issue"),
                short_id=f"{project.slug.upper()}-{base32(project.short_counter)}",
                project=project.slug,
                title=title,
                culprit=culprit,
                level=level,
                status=status,
                substatus=None if status == "resolved" else substatus,
                status_details={},
                assigned=None,
                first_seen=seen,
                last_seen=last_seen or seen,
                count=count,
                user_count=user_count,
                priority=priority,
                platform=project.platform,
                environments=[environment],
                releases=[release] if release else [],
                tags=dict(tags or {}),
            )
            self._issues[record.id] = record
            record.events.append(self._new_event(record, at=record.last_seen))
            self._changed()
            return self.issue_json(record)

    def _project_for_issue(self, slug: str) -> ProjectRecord:
        self.create_project(slug)
        return self._projects[slug]

    def add_event(
        self,
        issue_id: int | str,
        *,
        at: datetime | None = None,
        environment: str | None = None,
        release: str | None = None,
        new_user: bool = False,
    ) -> JSON:
        """A new event arrives for an issue: count and lastSeen move on."""
        with self._cond:
            issue = self._issue(issue_id)
            issue.count += 1
            issue.user_count += 1 if new_user else 0
            issue.last_seen = at or self.now()
            if environment and environment not in issue.environments:
                issue.environments.append(environment)
            if release and release not in issue.releases:
                issue.releases.append(release)
            event = self._new_event(issue, at=issue.last_seen, environment=environment)
            issue.events.append(event)
            self._changed()
            return dict(event)

    def create_release(
        self,
        version: str,
        projects: Sequence[str],
        *,
        refs: Sequence[Mapping[str, str]] = (),
        date_created: datetime | None = None,
    ) -> JSON:
        with self._cond:
            record = ReleaseRecord(
                id=self._next_id("release"),
                version=version,
                projects=list(projects),
                date_created=date_created or self.now(),
                refs=[dict(r) for r in refs],
            )
            self._releases[version] = record
            self._changed()
            return self.release_json(record)

    def add_member(
        self,
        email: str,
        *,
        name: str | None = None,
        role: str = "member",
        pending: bool = False,
        extra_emails: Sequence[str] = (),
    ) -> JSON:
        """An org member (a user) or, with `pending`, an invite without a user."""
        with self._cond:
            record = MemberRecord(
                id=self._next_id("member"),
                user_id=None if pending else self._next_id("user"),
                email=email,
                name=name or email.split("@")[0].title(),
                role=role,
                pending=pending,
                emails=[email, *extra_emails],
            )
            self._members.append(record)
            self._changed()
            return self.member_json(record)

    def add_team(self, slug: str, *, name: str | None = None, members: Sequence[str] = ()) -> JSON:
        """A team; `members` are e-mails of members added before."""
        with self._cond:
            user_ids = [
                m.user_id for m in self._members if m.email in members and m.user_id is not None
            ]
            record = TeamRecord(
                id=self._next_id("team"), slug=slug, name=name or slug, user_ids=user_ids
            )
            self._teams[record.id] = record
            self._changed()
            return self.team_json(record)

    # -- helpers for tests: acting as Sentry's web UI ---------------------------------------

    def add_comment(self, issue_id: int | str, text: str, *, by: str | None = None) -> JSON:
        """A comment written in Sentry's web UI by the member with e-mail `by` (None: the
        token's user, as the app would write it)."""
        with self._cond:
            issue = self._issue(issue_id)
            if by is None:
                user = dict(self.token_user)
            else:
                member = next(m for m in self._members if m.email == by and m.user_id)
                user = self.user_json(member)
            record = CommentRecord(self._next_id("activity"), user, text, self.now())
            issue.comments.insert(0, record)
            self._changed()
            return self.comment_json(record)

    def edit_comment(self, issue_id: int | str, comment_id: int, text: str) -> None:
        with self._cond:
            issue = self._issue(issue_id)
            next(c for c in issue.comments if c.id == comment_id).text = text
            self._changed()

    def delete_comment(self, issue_id: int | str, comment_id: int) -> None:
        with self._cond:
            issue = self._issue(issue_id)
            issue.comments = [c for c in issue.comments if c.id != comment_id]
            self._changed()

    def comments(self, issue_id: int | str) -> list[JSON]:
        """The issue's comments, newest first, as the API lists them."""
        with self._cond:
            return [self.comment_json(c) for c in self._issue(issue_id).comments]

    def post_comment(self, issue: IssueRecord, body: Any) -> JSON:
        """`GroupNotesEndpoint.post` (Sentry `issues/endpoints/group_notes.py`) as the token's
        user: `NoteSerializer` (DRF `CharField`: required, not blank after trimming), then
        the duplicate guard (same author, same data, within one hour: 400)."""
        if body is None:
            body = {}  # no body: DRF's empty `request.data`
        if not isinstance(body, dict):
            got = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}
            name = got.get(type(body), type(body).__name__)
            raise ApiError(
                400,
                {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {name}."]},
            )
        text = body.get("text")
        if "text" not in body:
            raise ApiError(400, {"text": ["This field is required."]})
        if text is None:
            raise ApiError(400, {"text": ["This field may not be null."]})
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise ApiError(400, {"text": ["Not a valid string."]})
        text = str(text).strip()
        if not text:
            raise ApiError(400, {"text": ["This field may not be blank."]})
        hour_ago = self.now() - timedelta(hours=1)
        for earlier in issue.comments:
            same_author = (earlier.user or {}).get("id") == self.token_user["id"]
            if same_author and earlier.text == text and earlier.created >= hour_ago:
                raise ApiError(400, {"detail": "You have already posted that comment."})
        record = CommentRecord(self._next_id("activity"), dict(self.token_user), text, self.now())
        issue.comments.insert(0, record)
        self._changed()
        return self.comment_json(record)

    def user_json(self, member: MemberRecord) -> JSON:
        return {
            "id": str(member.user_id),
            "name": member.name,
            "username": member.email,
            "email": member.email,
        }

    def comment_json(self, comment: CommentRecord) -> JSON:
        """`ActivitySerializer` (Sentry `api/serializers/models/activity.py`)."""
        return {
            "id": str(comment.id),
            "user": dict(comment.user) if comment.user else None,
            "type": "note",
            "data": {"text": comment.text},
            "dateCreated": iso(comment.created),
        }

    def set_issue_status(
        self, issue_id: int | str, status: str, substatus: str | None = None
    ) -> JSON:
        with self._cond:
            issue = self._issue(issue_id)
            default = {"resolved": None, "ignored": "archived_until_escalating"}
            issue.status = status
            issue.substatus = substatus or default.get(status, "ongoing")
            issue.status_details = {}
            self._changed()
            return self.issue_json(issue)

    def assign(self, issue_id: int | str, actor: str | None) -> JSON:
        """Assign as the UI does: `user:<id>`, `team:<id>`, an e-mail, or None to unassign."""
        with self._cond:
            issue = self._issue(issue_id)
            issue.assigned = self._resolve_actor(actor or "", issue)
            self._changed()
            return self.issue_json(issue)

    def regress(self, issue_id: int | str) -> JSON:
        """A resolved issue sees a new event: unresolved, substatus regressed."""
        with self._cond:
            issue = self._issue(issue_id)
            issue.status, issue.substatus, issue.status_details = "unresolved", "regressed", {}
            self.add_event(issue_id)
            return self.issue_json(issue)

    def escalate(self, issue_id: int | str) -> JSON:
        with self._cond:
            issue = self._issue(issue_id)
            issue.status, issue.substatus, issue.status_details = "unresolved", "escalating", {}
            self.add_event(issue_id)
            return self.issue_json(issue)

    # -- reading state in tests -------------------------------------------------------------

    def issue(self, issue_id: int | str) -> JSON:
        """The issue as the API shows it (also for deleted ones, marked `status: deleted`)."""
        with self._cond:
            record = self._issues[int(issue_id)]
            body = self.issue_json(record)
            if record.deleted:
                body["status"] = "pending_deletion"
            return body

    def issues(self) -> list[JSON]:
        with self._cond:
            return [self.issue_json(i) for i in self._issues.values() if not i.deleted]

    def events(self, issue_id: int | str) -> list[JSON]:
        with self._cond:
            return [dict(e) for e in self._issue(issue_id).events]

    # -- lookups used by the HTTP layer (caller holds the lock) -----------------------------

    def _issue(self, issue_id: int | str) -> IssueRecord:
        record = self._issues.get(int(issue_id))
        if record is None:
            raise KeyError(f"no issue {issue_id}")
        return record

    def find_issue(self, ref: str) -> IssueRecord:
        """Numeric id or short id (case-insensitive, optional `issue:` prefix); 404 otherwise."""
        ref = ref.removeprefix("issue:")
        record: IssueRecord | None = None
        if ref.isdigit():
            record = self._issues.get(int(ref))
        else:
            record = next(
                (i for i in self._issues.values() if i.short_id.lower() == ref.lower()), None
            )
        if record is None or record.deleted:
            raise ApiError(404, {"detail": "The requested resource does not exist"})
        return record

    def live_issues(self) -> list[IssueRecord]:
        return [i for i in self._issues.values() if not i.deleted]

    def project(self, slug_or_id: str) -> ProjectRecord:
        for record in self._projects.values():
            if slug_or_id in (record.slug, str(record.id)):
                return record
        raise ApiError(404, {"detail": "The requested resource does not exist"})

    def projects(self) -> list[ProjectRecord]:
        return list(self._projects.values())

    def releases(self) -> list[ReleaseRecord]:
        return sorted(self._releases.values(), key=lambda r: (r.date_created, r.id), reverse=True)

    def release(self, version: str) -> ReleaseRecord | None:
        return self._releases.get(version)

    def members(self) -> list[MemberRecord]:
        return list(self._members)

    def teams(self) -> list[TeamRecord]:
        return list(self._teams.values())

    # -- search ------------------------------------------------------------------------------

    def matches(self, issue: IssueRecord, term: Term) -> bool:
        result = any(self._matches_value(issue, term.key, value) for value in term.values)
        return not result if term.negated else result

    def _matches_value(self, issue: IssueRecord, key: str | None, value: str) -> bool:
        now = self.now()
        if key is None:
            needle = value.lower()
            return needle in issue.title.lower() or needle in issue.culprit.lower()
        if key == "is":
            return {
                "unresolved": issue.status == "unresolved",
                "resolved": issue.status == "resolved",
                "ignored": issue.status == "ignored",
                "archived": issue.status == "ignored",
                "assigned": issue.assigned is not None,
                "unassigned": issue.assigned is None,
                "for_review": issue.substatus in ("new", "regressed", "escalating"),
                # Substatus filters of the escalating-issues search (docs.sentry.io, issue
                # properties `is:`): only unresolved issues carry these substatuses.
                "new": issue.substatus == "new",
                "ongoing": issue.substatus == "ongoing",
                "regressed": issue.substatus == "regressed",
                "escalating": issue.substatus == "escalating",
            }.get(value, False)
        if key == "level":
            return issue.level == value
        if key in ("issue.priority", "priority"):
            return issue.priority == value
        if key == "firstSeen":
            return matches_time(value, issue.first_seen, now=now)
        if key == "lastSeen":
            return matches_time(value, issue.last_seen, now=now)
        if key in ("times_seen", "timesSeen"):
            return matches_number(value, issue.count)
        if key == "environment":
            return value in issue.environments
        if key == "release":
            return value in issue.releases
        if key in ("assigned", "assigned_or_suggested"):
            return self._assigned_matches(issue, value)
        if key == "issue":
            return issue.short_id.lower() == value.lower()
        if key == "project":
            return issue.project == value
        if key == "issue.id":
            # `issue.id:[1, 2]` narrows a search to issues (Sentry `search/snuba/backend.py`,
            # the `issue.id` `QCallbackCondition`).
            return value.strip().isdigit() and int(value) == issue.id
        return issue.tags.get(key) == value

    def _assigned_matches(self, issue: IssueRecord, value: str) -> bool:
        if value == "none":
            return issue.assigned is None
        if issue.assigned is None:
            return False
        kind, actor_id = issue.assigned
        if value == "me":
            return kind == "user" and actor_id == self.acting_user_id
        if value.startswith("#"):
            team = self._teams.get(actor_id) if kind == "team" else None
            return team is not None and team.slug == value[1:]
        member = self._member_by_identifier(value)
        return kind == "user" and member is not None and member.user_id == actor_id

    # -- issue updates (Sentry `src/sentry/api/helpers/group_index/update.py`) -------------------

    def plan_update(self, issue: IssueRecord, body: Mapping[str, Any]) -> Callable[[], JSON]:
        """Validate an update for one issue; return a function that applies it (the delta).

        Validation happens for every issue before any is changed, so a 400 mutates nothing.
        """
        changes: dict[str, Any] = {}
        delta: JSON = {}
        if "assignedTo" in body:
            if body["assignedTo"] is None:
                raise ApiError(400, {"assignedTo": ["This field may not be null."]})
            actor = self._resolve_actor(str(body["assignedTo"]), issue)
            changes["assigned"] = actor
        status = body.get("status")
        if status is not None:
            changes.update(self._plan_status(issue, body, str(status)))
        elif body.get("substatus") is not None:
            self._check_substatus(issue.status, str(body["substatus"]))
            changes["substatus"] = body["substatus"]
        for name in SIMPLE_FIELDS:
            if name in body:
                delta[name] = body[name]

        def apply() -> JSON:
            if "assigned" in changes:
                issue.assigned = changes["assigned"]
                delta["assignedTo"] = self.actor_json(issue.assigned)
            for attribute in ("status", "substatus", "status_details"):
                if attribute in changes:
                    setattr(issue, attribute, changes[attribute])
            if "status" in changes:
                delta["status"] = issue.status
                delta["substatus"] = issue.substatus
                delta["statusDetails"] = changes.get("delta_details", issue.status_details)
            if "priority" in delta:
                issue.priority = str(delta["priority"])
            for name in ("isBookmarked", "hasSeen", "isSubscribed", "isPublic", "inbox"):
                if name in delta:
                    issue.flags[name] = bool(delta[name])
            if delta.get("isPublic"):
                delta["shareId"] = hashlib.sha1(str(issue.id).encode()).hexdigest()[:12]  # noqa: S324
            self._changed()
            return delta

        return apply

    def _plan_status(self, issue: IssueRecord, body: Mapping[str, Any], status: str) -> JSON:
        if status not in STATUSES:
            raise ApiError(400, {"status": [f'"{status}" is not a valid choice.']})
        details = body.get("statusDetails")
        if details is None:
            details = {k: body[k] for k in IGNORE_KEYS if k in body}
        if not isinstance(details, Mapping):
            raise ApiError(400, {"statusDetails": {"non_field_errors": ["Invalid data."]}})
        substatus = body.get("substatus")
        now = self.now()
        if status == "muted":
            status = "ignored"
        if status == "resolvedInNextRelease":
            return {
                "status": "resolved",
                "substatus": None,
                "status_details": {"inNextRelease": True, **self._actor_detail()},
            }
        if status == "resolved":
            if substatus is not None:
                self._check_substatus("resolved", str(substatus))
            return {
                "status": "resolved",
                "substatus": None,
                "status_details": self._resolution(issue, details),
            }
        if status == "unresolved":
            if substatus is not None:
                self._check_substatus("unresolved", str(substatus))
            recent = issue.first_seen > now - timedelta(days=7)
            inferred = "new" if issue.status == "ignored" and recent else "ongoing"
            return {
                "status": "unresolved",
                "substatus": substatus or inferred,
                "status_details": {},
            }
        conditions = {k: v for k, v in details.items() if k in IGNORE_KEYS}
        for window in ("ignoreWindow", "ignoreUserWindow"):
            # `StatusDetailsValidator`: `IntegerField(min_value=1, max_value=WEEK_IN_MINUTES)`.
            value = conditions.get(window)
            if isinstance(value, int) and value > MAX_IGNORE_WINDOW:
                message = f"Ensure this value is less than or equal to {MAX_IGNORE_WINDOW}."
                raise ApiError(400, {"statusDetails": {window: [message]}})
        if substatus is not None:
            self._check_substatus("ignored", str(substatus))
        else:
            substatus = "archived_until_condition_met" if conditions else "archived_forever"
        plan: JSON = {"status": "ignored", "substatus": substatus, "status_details": {}}
        if substatus == "archived_until_escalating":
            plan["delta_details"] = {"ignoreUntilEscalating": True}
        if conditions:
            minutes = conditions.get("ignoreDuration") or conditions.get("snoozeDuration")
            until = now + timedelta(minutes=int(minutes)) if minutes else None
            plan["status_details"] = {
                "ignoreCount": conditions.get("ignoreCount"),
                "ignoreUntil": iso(until),
                "ignoreUserCount": conditions.get("ignoreUserCount"),
                "ignoreUserWindow": conditions.get("ignoreUserWindow"),
                "ignoreWindow": conditions.get("ignoreWindow"),
                **self._actor_detail(),
            }
            plan["delta_details"] = dict(conditions)
        return plan

    def _resolution(self, issue: IssueRecord, details: Mapping[str, Any]) -> JSON:
        project_releases = [r for r in self.releases() if issue.project in r.projects]
        no_release_data = "No release data present in the system to form a basis for 'Next Release'"
        if "inRelease" in details:
            wanted = str(details["inRelease"])
            if wanted == "latest" and not project_releases:
                # `StatusDetailsValidator.validate_inRelease` (validators/status_details.py).
                raise ApiError(400, {"statusDetails": {"inRelease": [no_release_data]}})
            found = (
                project_releases[0]
                if wanted == "latest"
                else next((r for r in project_releases if r.version == wanted), None)
            )
            if found is None:
                raise ApiError(
                    400,
                    {
                        "statusDetails": {
                            "inRelease": ["Unable to find a release with the given version."]
                        }
                    },
                )
            return {"inRelease": found.version, **self._actor_detail()}
        if details.get("inNextRelease"):
            if not project_releases:
                raise ApiError(400, {"statusDetails": {"inNextRelease": [no_release_data]}})
            return {"inNextRelease": True, **self._actor_detail()}
        if "inCommit" in details:
            commit = details["inCommit"]
            if not isinstance(commit, Mapping):
                raise ApiError(
                    400,
                    {
                        "statusDetails": {
                            "inCommit": {
                                "non_field_errors": [
                                    "Invalid data. Expected a dictionary, but got "
                                    f"{type(commit).__name__}."
                                ]
                            }
                        }
                    },
                )
            missing = {
                name: ["This field is required."]
                for name in ("commit", "repository")
                if not commit.get(name)
            }
            if missing:
                raise ApiError(400, {"statusDetails": {"inCommit": missing}})
            return {
                "inCommit": {
                    "id": commit["commit"],
                    "repository": {"name": commit.get("repository")},
                }
            }
        return {}

    def _check_substatus(self, status: str, substatus: str) -> None:
        if substatus not in SUBSTATUS_FOR.get(status, ()):
            raise ApiError(
                400, {"substatus": [f"Invalid substatus {substatus!r} for status {status!r}."]}
            )

    def _actor_detail(self) -> JSON:
        member = next((m for m in self._members if m.user_id == self.acting_user_id), None)
        if member is None or member.user_id is None:
            return {}
        return {"actor": {"id": str(member.user_id), "name": member.name, "email": member.email}}

    def _resolve_actor(self, value: str, issue: IssueRecord) -> tuple[str, int] | None:
        """`Actor.from_identifier`: "", user id, `user:id`, `team:id`, username or e-mail."""
        if value == "":
            return None
        kind, sep, raw = value.partition(":")
        if sep and kind not in ("user", "team"):
            raise ApiError(
                400,
                {
                    "assignedTo": [
                        "Could not parse actor. Format should be `type:id` where type is "
                        "`team` or `user`."
                    ]
                },
            )
        if sep and kind == "team":
            team = self._teams.get(int(raw)) if raw.isdigit() else None
            if team is None:
                raise ApiError(400, {"assignedTo": ["Unknown team"]})
            project = self._projects[issue.project]
            if project.team_ids and team.id not in project.team_ids:
                raise ApiError(
                    400, {"assignedTo": ["Cannot assign to a team without access to the project"]}
                )
            return ("team", team.id)
        identifier = raw if sep else value
        if identifier.isdigit():
            member = next((m for m in self._members if m.user_id == int(identifier)), None)
        else:
            member = self._member_by_identifier(identifier)
        if member is None or member.user_id is None:
            raise ApiError(400, {"assignedTo": ["User is not a member of this organization"]})
        return ("user", member.user_id)

    def _member_by_identifier(self, value: str) -> MemberRecord | None:
        wanted = value.lower()
        return next(
            (m for m in self._members if m.user_id is not None and m.email.lower() == wanted), None
        )

    def member_matches(self, member: MemberRecord, terms: Iterable[Term]) -> bool:
        """Members `query=` filter (`organization_member_index.py`); unknown keys match none."""
        for term in terms:
            values = [v.lower() for v in term.values]
            if term.key == "email":
                ok = any(v in (e.lower() for e in member.emails) for v in values)
            elif term.key in ("id",):
                ok = str(member.id) in values
            elif term.key == "user.id":
                ok = str(member.user_id) in values
            elif term.key == "role":
                ok = member.role in values
            elif term.key == "isInvited":
                ok = str(member.pending).lower() in values
            elif term.key in (None, "query"):
                ok = any(v in member.email.lower() or v in member.name.lower() for v in values)
            else:
                ok = False
            if ok == term.negated:
                return False
        return True

    # -- JSON forms ------------------------------------------------------------------------------

    def actor_json(self, actor: tuple[str, int] | None) -> JSON | None:
        if actor is None:
            return None
        kind, actor_id = actor
        if kind == "team":
            team = self._teams[actor_id]
            return {"type": "team", "id": str(team.id), "name": team.slug}
        member = next(m for m in self._members if m.user_id == actor_id)
        return {"type": "user", "id": str(actor_id), "name": member.name, "email": member.email}

    def issue_json(self, issue: IssueRecord) -> JSON:
        """The base issue object (`GroupSerializerBase`, Sentry's `serializers/models/group.py`)."""
        project = self._projects[issue.project]
        exc_type, _, exc_value = issue.title.partition(": ")
        return {
            "id": str(issue.id),
            "shareId": None,
            "shortId": issue.short_id,
            "title": issue.title,
            "culprit": issue.culprit,
            "permalink": f"{self.web_url}/organizations/{self.org}/issues/{issue.id}/",
            "logger": None,
            "level": issue.level,
            "status": issue.status,
            "statusDetails": dict(issue.status_details),
            "substatus": issue.substatus,
            "isPublic": bool(issue.flags.get("isPublic", False)),
            "platform": issue.platform,
            "priority": issue.priority,
            "priorityLockedAt": None,
            "project": {
                "id": str(project.id),
                "name": project.name,
                "slug": project.slug,
                "platform": project.platform,
            },
            "type": "error",
            "issueType": "error",
            "issueCategory": "error",
            "metadata": {"type": exc_type, "value": exc_value, "filename": "app.py"}
            if exc_value
            else {"title": issue.title},
            "numComments": len(issue.comments),
            "assignedTo": self.actor_json(issue.assigned),
            "isBookmarked": bool(issue.flags.get("isBookmarked", False)),
            "isSubscribed": bool(issue.flags.get("isSubscribed", False)),
            "subscriptionDetails": None,
            "hasSeen": bool(issue.flags.get("hasSeen", False)),
            "annotations": [],
            "isUnhandled": True,
            "count": str(issue.count),
            "userCount": issue.user_count,
            "firstSeen": iso(issue.first_seen),
            "lastSeen": iso(issue.last_seen),
        }

    def stream_issue_json(
        self, issue: IssueRecord, collapse: Collection[str] = frozenset()
    ) -> JSON:
        """The issue-list form adds `stats`, `lifetime`, `filtered`, `sessionCount`; `collapse`
        leaves parts out (`stats` also `count`, `userCount`, `firstSeen`, `lastSeen`; Sentry
        `api/serializers/models/group_stream.py`)."""
        body = self.issue_json(issue)
        body.update(
            {
                "stats": {"24h": []},
                "lifetime": {
                    "count": str(issue.count),
                    "userCount": issue.user_count,
                    "firstSeen": body["firstSeen"],
                    "lastSeen": body["lastSeen"],
                },
                "filtered": None,
                "sessionCount": 0,
            }
        )
        dropped = {
            "stats": ("stats", "count", "userCount", "firstSeen", "lastSeen"),
            "lifetime": ("lifetime",),
            "filtered": ("filtered",),
            "unhandled": ("isUnhandled",),
        }
        for part in collapse:
            for key in dropped.get(part, ()):
                body.pop(key, None)
        return body

    def detail_issue_json(self, issue: IssueRecord) -> JSON:
        body = self.issue_json(issue)
        body.update(
            {
                "activity": [],
                "seenBy": [],
                "userReportCount": 0,
                "participants": [],
                "firstRelease": {"version": issue.releases[0]} if issue.releases else None,
                "lastRelease": {"version": issue.releases[-1]} if issue.releases else None,
                "tags": [{"key": "level", "name": "Level", "totalValues": issue.count}],
                "stats": {"24h": [], "30d": []},
            }
        )
        return body

    def project_json(self, project: ProjectRecord) -> JSON:
        teams = [
            {"id": str(t.id), "name": t.name, "slug": t.slug}
            for t in self._teams.values()
            if t.id in project.team_ids
        ]
        latest = next((r for r in self.releases() if project.slug in r.projects), None)
        return {
            "id": str(project.id),
            "slug": project.slug,
            "name": project.name,
            "platform": project.platform,
            "dateCreated": iso(project.date_created),
            "isBookmarked": False,
            "isMember": True,
            "hasAccess": True,
            "teams": teams,
            "team": teams[0] if teams else None,
            "environments": sorted({e for i in self.live_issues() for e in i.environments}),
            "features": [],
            "firstEvent": None,
            "latestRelease": {"version": latest.version} if latest else None,
            "status": "active",
        }

    def release_json(self, release: ReleaseRecord) -> JSON:
        package, _, raw = release.version.rpartition("@")
        projects = [self._projects[p] for p in release.projects if p in self._projects]
        return {
            "id": release.id,
            "version": release.version,
            "shortVersion": release.version,
            "status": "open",
            "versionInfo": {
                "package": package or None,
                "version": {"raw": raw},
                "description": raw,
                "buildHash": None,
            },
            "ref": None,
            "url": None,
            "dateReleased": None,
            "dateCreated": iso(release.date_created),
            "data": {},
            "newGroups": 0,
            "owner": None,
            "commitCount": len(release.refs),
            "lastCommit": None,
            "deployCount": 0,
            "lastDeploy": None,
            "authors": [],
            "projects": [
                {
                    "id": p.id,
                    "slug": p.slug,
                    "name": p.name,
                    "newGroups": 0,
                    "platform": p.platform,
                    "platforms": [p.platform],
                    "hasHealthData": False,
                }
                for p in projects
            ],
            "firstEvent": None,
            "lastEvent": None,
            "currentProjectMeta": {},
            "userAgent": None,
        }

    def member_json(self, member: MemberRecord) -> JSON:
        user = None
        if member.user_id is not None:
            user = {
                "id": str(member.user_id),
                "name": member.name,
                "username": member.email,
                "email": member.email,
                "avatarUrl": "",
                "isActive": True,
                "emails": [
                    {"id": str(member.user_id * 10 + n), "email": e, "is_verified": True}
                    for n, e in enumerate(member.emails)
                ],
            }
        return {
            "id": str(member.id),
            "email": member.email,
            "name": member.name,
            "user": user,
            "orgRole": member.role,
            "pending": member.pending,
            "expired": False,
            "flags": {"sso:linked": False},
            "dateCreated": iso(self.now()),
            "inviteStatus": "pending" if member.pending else "approved",
            "inviterName": None,
        }

    def team_json(self, team: TeamRecord) -> JSON:
        return {
            "id": str(team.id),
            "slug": team.slug,
            "name": team.name,
            "dateCreated": iso(self.now()),
            "isMember": self.acting_user_id in team.user_ids,
            "teamRole": None,
            "memberCount": len(team.user_ids),
            "hasAccess": True,
            "isPending": False,
            "flags": {"idp:provisioned": False},
            "access": [],
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        }

    def _new_event(
        self, issue: IssueRecord, *, at: datetime, environment: str | None = None
    ) -> JSON:
        """A full event with one exception entry; frames oldest first (as in Sentry's
        `example-event-latest.json`)."""
        project = self._projects[issue.project]
        event_id = uuid.uuid4().hex
        exc_type, _, exc_value = issue.title.partition(": ")
        module, _, function = issue.culprit.partition(" in ")
        env = environment or (issue.environments[0] if issue.environments else "production")
        tags = {"environment": env, "level": issue.level, **issue.tags}
        if issue.releases:
            tags["release"] = issue.releases[-1]
        frames = [
            _frame("runtime/server.py", "serve", 120, in_app=False, module="runtime.server"),
            _frame("app/views.py", "dispatch", 42, in_app=True, module="app.views"),
            _frame(f"{module.replace('.', '/')}.py", function or "handler", 7, True, module),
        ]
        return {
            "id": event_id,
            "eventID": event_id,
            "groupID": str(issue.id),
            "projectID": str(project.id),
            "title": issue.title,
            "message": issue.title,
            "platform": issue.platform,
            "type": "error",
            "culprit": issue.culprit,
            "location": frames[-1]["filename"],
            "dateCreated": iso(at),
            "dateReceived": iso(at),
            "size": 2048,
            "errors": [],
            "metadata": {"type": exc_type, "value": exc_value or exc_type},
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "user": {"id": "u-1", "email": "someone@example.com", "ip_address": "192.0.2.1"},
            "contexts": {},
            "sdk": {"name": "sentry.python", "version": "2.0.0"},
            "entries": [
                {
                    "type": "exception",
                    "data": {
                        "values": [
                            {
                                "type": exc_type,
                                "value": exc_value or exc_type,
                                "module": None,
                                "mechanism": {"type": "generic", "handled": False},
                                "stacktrace": {
                                    "frames": frames,
                                    "hasSystemFrames": True,
                                    "framesOmitted": None,
                                },
                                "rawStacktrace": None,
                            }
                        ],
                        "hasSystemFrames": True,
                        "excOmitted": None,
                    },
                }
            ],
            "release": {"version": issue.releases[-1]} if issue.releases else None,
            "dist": None,
            "fingerprints": [hashlib.md5(issue.title.encode()).hexdigest()],  # noqa: S324
            "nextEventID": None,
            "previousEventID": issue.events[-1]["id"] if issue.events else None,
            "crashFile": None,
        }


def _frame(filename: str, function: str, line: int, in_app: bool, module: str) -> JSON:
    return {
        "filename": filename,
        "absPath": f"/srv/{filename}",
        "module": module,
        "function": function,
        "lineNo": line,
        "colNo": None,
        "inApp": in_app,
        "context": [[line, f"    {function}()"]],
        "vars": None,
    }


SIMPLE_EVENT_KEYS = (
    "id",
    "eventID",
    "groupID",
    "projectID",
    "title",
    "message",
    "platform",
    "dateCreated",
    "culprit",
    "location",
    "user",
    "tags",
    "metadata",
    "crashFile",
)


def simple_event(event: Mapping[str, Any]) -> JSON:
    """The list form of an event (`listOrganizationIssueEvents`): no entries, `event.type`."""
    body = {key: event.get(key) for key in SIMPLE_EVENT_KEYS}
    body["event.type"] = event.get("type")
    return body
