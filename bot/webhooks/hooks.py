"""A verified delivery read into what the bot acts on: an issue to look at again, or a comment.

Bodies per Sentry's docs ("Integration Platform: Webhooks", issues and comments) and code
(`src/sentry/sentry_apps/api/serializers/app_platform_event.py`: `action`, `installation`,
`data`, `actor`; `Sentry-Hook-Resource` names the resource). Only the issue id is taken from
the body: the rest is a hint and the issue is read back from Sentry. Resources and actions the
bot does not act on (installation, event alerts, comment edits) are recognised and ignored;
a body that is not what Sentry sends is `Malformed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Literal

from bot.sentry.ids import InvalidId, IssueId

RESOURCE_HEADER: Final = "Sentry-Hook-Resource"

# `created` asks for routing; the others only for redrawing the issue's cards. Sentry sends
# `ignored`, or `archived` to installations subscribed to that name (Sentry
# `sentry_apps/receivers.py` `backwards_compatible_event_name`); `unresolved` also stands
# for escalation.
ROUTED_ACTIONS: Final = frozenset({"created"})
REDRAWN_ACTIONS: Final = frozenset({"resolved", "assigned", "ignored", "archived", "unresolved"})

Kind = Literal["issue", "comment"]


class Malformed(ValueError):
    """Signed by Sentry's secret but not a delivery the bot can read (answered 400)."""


@dataclass(frozen=True, slots=True)
class Hint:
    """Something changed about an issue: route it (a new issue), redraw its cards, or tell the
    conversation of a new comment."""

    kind: Kind
    resource: str
    action: str
    issue_id: IssueId
    route: bool = False
    redraw: bool = False


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed delivery the bot has nothing to do for."""

    resource: str
    action: str


def read_hook(resource: str | None, body: bytes) -> Hint | Ignored:
    """The delivery's meaning; `Malformed` with the reason otherwise."""
    if not resource or not resource.isascii() or len(resource) > 64:
        raise Malformed(f"{RESOURCE_HEADER} is missing or not a resource name")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Malformed("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    action = data.get("action")
    if not isinstance(action, str) or not action or len(action) > 64:
        raise Malformed("`action` is missing or not a string")
    payload = data.get("data")
    if not isinstance(payload, dict):
        raise Malformed("`data` is missing or not an object")
    if resource == "issue":
        return _issue_hook(action, payload)
    if resource == "comment":
        return _comment_hook(action, payload)
    return Ignored(resource, action)


def _issue_hook(action: str, payload: dict[str, object]) -> Hint | Ignored:
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise Malformed("`data.issue` is missing or not an object")
    issue_id = _issue_id(issue.get("id"), "data.issue.id")
    if action in ROUTED_ACTIONS:
        return Hint("issue", "issue", action, issue_id, route=True)
    if action in REDRAWN_ACTIONS:
        return Hint("issue", "issue", action, issue_id, redraw=True)
    return Ignored("issue", action)


def _comment_hook(action: str, payload: dict[str, object]) -> Hint | Ignored:
    issue_id = _issue_id(payload.get("issue_id"), "data.issue_id")
    if action == "created":
        return Hint("comment", "comment", action, issue_id)
    return Ignored("comment", action)


def _issue_id(value: object, where: str) -> IssueId:
    try:
        return IssueId(value)
    except InvalidId as exc:
        raise Malformed(f"`{where}` is not an issue id") from exc
