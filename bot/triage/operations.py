"""Triage operations and exactly what each sends to Sentry (CONTRACT.md §6.6 recipes).

Pure: an operation in, the `PUT …/issues/{id}/` body and the words for the card's
"who did what" line out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.slack import actions
from bot.slack.card import duration_words

ResolveWhen = Literal["now", "next_release", "current_release"]
IgnoreMode = Literal["until_escalating", "forever", "duration", "events", "users"]


@dataclass(frozen=True, slots=True)
class Resolve:
    when: ResolveWhen = "now"


@dataclass(frozen=True, slots=True)
class Ignore:
    mode: IgnoreMode = "until_escalating"
    amount: int = 0  # minutes for "duration", a count for "events" and "users"
    window: int = 0  # minutes the count must be reached within (0: no limit)


@dataclass(frozen=True, slots=True)
class Assign:
    actor: str  # "user:<id>", "team:<id>", or "" for nobody (Sentry's unassign)


@dataclass(frozen=True, slots=True)
class Unresolve:
    pass


Operation = Resolve | Ignore | Assign | Unresolve


def sentry_changes(operation: Operation) -> dict[str, Any]:
    """The partial update body for one operation."""
    match operation:
        case Resolve(when="now"):
            return {"status": "resolved"}
        case Resolve(when="next_release"):
            return {"status": "resolved", "statusDetails": {"inNextRelease": True}}
        case Resolve(when="current_release"):
            return {"status": "resolved", "statusDetails": {"inRelease": "latest"}}
        case Ignore(mode="until_escalating"):
            return {
                "status": "ignored",
                "substatus": "archived_until_escalating",
                "statusDetails": {},
            }
        case Ignore(mode="forever"):
            return {"status": "ignored", "substatus": "archived_forever", "statusDetails": {}}
        case Ignore(mode="duration", amount=minutes):
            return {"status": "ignored", "statusDetails": {"ignoreDuration": minutes}}
        case Ignore(mode="events", amount=count, window=window):
            details = {"ignoreCount": count} | ({"ignoreWindow": window} if window else {})
            return {"status": "ignored", "statusDetails": details}
        case Ignore(mode="users", amount=count, window=window):
            details = {"ignoreUserCount": count} | ({"ignoreUserWindow": window} if window else {})
            return {"status": "ignored", "statusDetails": details}
        case Assign(actor=actor):
            return {"assignedTo": actor}
        case Unresolve():
            return {"status": "unresolved"}
    raise ValueError(f"unknown operation {operation!r}")


def verb(operation: Operation, *, assignee_label: str = "") -> str:
    """How the card's last-action line names what happened ("Resolved in next release")."""
    match operation:
        case Resolve(when="now"):
            return "Resolved"
        case Resolve(when="next_release"):
            return "Resolved in next release"
        case Resolve(when="current_release"):
            return "Resolved in current release"
        case Ignore(mode="until_escalating"):
            return "Ignored until escalating"
        case Ignore(mode="forever"):
            return "Ignored forever"
        case Ignore(mode="duration", amount=minutes):
            return f"Ignored for {duration_words(minutes)}"
        case Ignore(mode="events", amount=count):
            return f"Ignored until {count:,} more events"
        case Ignore(mode="users", amount=count):
            return f"Ignored until {count:,} more users"
        case Assign(actor=""):
            return "Unassigned"
        case Assign():
            return f"Assigned to {assignee_label or 'someone'}"
        case Unresolve():
            return "Unresolved"
    raise ValueError(f"unknown operation {operation!r}")


def from_action(op: str, arg: str, *, me: str) -> Operation | None:
    """The operation a card control's value stands for; None when it needs a dialog first
    (ignore until N events or users). `me` is the clicking member's Sentry actor."""
    if op == actions.OP_RESOLVE:
        when: ResolveWhen = (
            "next_release"
            if arg == actions.RESOLVE_NEXT_RELEASE
            else "current_release"
            if arg == actions.RESOLVE_CURRENT_RELEASE
            else "now"
        )
        return Resolve(when)
    if op == actions.OP_IGNORE:
        if arg in actions.IGNORE_DURATION_MINUTES:
            return Ignore("duration", actions.IGNORE_DURATION_MINUTES[arg])
        if arg == actions.IGNORE_FOREVER:
            return Ignore("forever")
        if arg in (actions.IGNORE_EVENTS, actions.IGNORE_USERS):
            return None
        return Ignore("until_escalating")
    if op == actions.OP_ASSIGN:
        if arg == actions.ASSIGN_ME:
            return Assign(me)
        if arg == actions.ASSIGN_NONE:
            return Assign("")
        return Assign(arg)
    if op == actions.OP_UNRESOLVE:
        return Unresolve()
    raise ValueError(f"no triage operation for {op!r}")


def kind(operation: Operation) -> str:
    """The action log's name for an operation."""
    return type(operation).__name__.lower()


def describe_arg(operation: Operation) -> str:
    match operation:
        case Resolve(when=when):
            return when
        case Ignore(mode=mode, amount=amount):
            return f"{mode}:{amount}" if amount else mode
        case Assign(actor=actor):
            return actor or "nobody"
    return ""
