"""The triage vocabulary: the actions a person takes on an issue and the one table naming them.

Everything else is derived from here: the words a card value carries (`bot.slack.actions`), the
labels of the card's and the digest's menus, the `/sentry` command words
(`bot.triage.command_words`), the card's
"Ignored for 2 hours by …" line, the action log's kind names and the body of Sentry's
`PUT …/issues/{id}/` (Sentry API docs: "Update an Issue"; Sentry
`src/sentry/api/helpers/group_index/validators/status_details.py`). Adding an ignore duration is
one row of `CHOICES`.

Pure: no Slack, no Sentry client, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

Verb: TypeAlias = Literal["resolve", "ignore", "assign", "unresolve"]
ResolveWhen: TypeAlias = Literal["now", "next_release", "current_release"]
IgnoreMode: TypeAlias = Literal["until_escalating", "forever", "duration", "events", "users"]
CountMode: TypeAlias = Literal["events", "users"]

VERBS: Final[tuple[Verb, ...]] = ("resolve", "ignore", "assign", "unresolve")

MINUTES_PER_UNIT: Final[Mapping[str, int]] = {"w": 10080, "d": 1440, "h": 60, "m": 1}
MAX_IGNORE_MINUTES: Final = 30 * 24 * 60
MAX_IGNORE_COUNT: Final = 1_000_000
# Sentry caps `ignoreWindow` / `ignoreUserWindow` at a week (`status_details.py`).
MAX_IGNORE_WINDOW: Final = 10080
IGNORE_WINDOWS: Final = (60, 1440, MAX_IGNORE_WINDOW)
"""The windows a count may be reached within, offered beside "until N more events / users"."""


# ---- the actions ------------------------------------------------------------------------------


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


TriageAction: TypeAlias = Resolve | Ignore | Assign | Unresolve


@dataclass(frozen=True, slots=True)
class LastAction:
    """The latest triage action taken from Slack: who (`U…`), what ("Resolved"), when; the card
    shows it under the issue."""

    slack_user_id: str
    verb: str
    at: datetime


# ---- the table --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """One named choice of a verb: a card option, a digest option, a command word.

    `word` is what a card's value carries after the verb (`1|<id>|ignore|2h`): old cards keep
    it for months, so a row's word never changes. `action` is None when the action depends on
    who chooses (`clicker`: assign to them) or on a count asked first (`asks`).
    """

    verb: Verb
    word: str
    label: str  # under its verb's menu ("For 2 hours")
    alone: str  # on its own, as in a digest's menu ("Ignore for 2 hours")
    action: TriageAction | None = None
    command: str | None = None  # the `/sentry` word or switch naming it, when commands offer it
    asks: CountMode | None = None
    clicker: bool = False


def duration_words(minutes: int) -> str:
    """`30 minutes`, `2 hours`, `24 hours`, `3 days`, `1 week`: Sentry's minute counts in words."""
    if minutes % 10080 == 0:
        amount, unit = minutes // 10080, "week"
    elif minutes % 1440 == 0 and minutes > 1440:
        amount, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes, "minute"
    return f"{amount:,} {unit}{'' if amount == 1 else 's'}"


def _duration(word: str, minutes: int) -> Choice:
    """An ignore-for-a-while row: the word is also the command word."""
    words = duration_words(minutes)
    return Choice(
        "ignore",
        word,
        f"For {words}",
        f"Ignore for {words}",
        Ignore("duration", minutes),
        command=word,
    )


CHOICES: Final[tuple[Choice, ...]] = (
    Choice("resolve", "now", "Resolve now", "Resolve", Resolve("now")),
    Choice(
        "resolve",
        "next_release",
        "In next release",
        "Resolve in next release",
        Resolve("next_release"),
        command="--next-release",
    ),
    Choice(
        "resolve",
        "current_release",
        "In current release",
        "Resolve in current release",
        Resolve("current_release"),
    ),
    Choice(
        "ignore",
        "until_escalating",
        "Until escalating",
        "Ignore until escalating",
        Ignore("until_escalating"),
        command="until-escalating",
    ),
    _duration("30m", 30),
    _duration("2h", 120),
    _duration("24h", 1440),
    _duration("1w", 10080),
    Choice(
        "ignore",
        "events",
        "Until N more events…",
        "Ignore until N more events…",
        command="<N>events",
        asks="events",
    ),
    Choice(
        "ignore",
        "users",
        "Until N more users…",
        "Ignore until N more users…",
        command="<N>users",
        asks="users",
    ),
    Choice("ignore", "forever", "Forever", "Ignore forever", Ignore("forever"), command="forever"),
    Choice("assign", "me", "Me", "Assign to me", command="me", clicker=True),
    Choice("assign", "none", "Nobody (unassign)", "Unassign", Assign(""), command="none"),
    Choice("unresolve", "", "Unresolve", "Unresolve", Unresolve()),
)

_BY_WORD: Final[Mapping[tuple[str, str], Choice]] = {(c.verb, c.word): c for c in CHOICES}


def choices(verb: Verb) -> tuple[Choice, ...]:
    """The rows of one verb, in menu order."""
    return tuple(c for c in CHOICES if c.verb == verb)


def choice(verb: str, word: str) -> Choice | None:
    """The row a card value's verb and word name; None when there is none."""
    return _BY_WORD.get((verb, word))


def action_for(verb: str, word: str, *, me: str) -> TriageAction | None:
    """The action a card value stands for, for the person `me` (a Sentry actor); None when a
    count must be asked first. An assign word that is no row is a Sentry actor itself.
    ValueError for a verb and word no card carries."""
    row = choice(verb, word)
    if row is not None:
        if row.clicker:
            return Assign(me)
        return row.action
    if verb == "assign" and word:
        return Assign(word)
    raise ValueError(f"no triage action for {verb!r} {word!r}")


def card_word(action: TriageAction) -> str | None:
    """The word of the card control that leads to this action: its row's, the asking row's for
    a count, the actor for an assignee; None when no control offers it (a duration without a
    row)."""
    for row in CHOICES:
        if row.action == action:
            return row.word
    match action:
        case Ignore(mode="events" | "users" as mode):
            return next(row.word for row in CHOICES if row.asks == mode)
        case Assign(actor=actor) if actor:
            return actor
    return None


# ---- what the action log calls an action ------------------------------------------------------

KIND_DELETE: Final = "delete"


def kind(action: TriageAction) -> str:
    """The action log's stable name: `resolve.now`, `ignore.duration`, `assign.user`, …"""
    match action:
        case Resolve(when=when):
            return f"resolve.{when}"
        case Ignore(mode=mode):
            return f"ignore.{mode}"
        case Assign(actor=""):
            return "assign.none"
        case Assign(actor=actor):
            return "assign.team" if actor.startswith("team:") else "assign.user"
    return "unresolve"


def kind_arg(action: TriageAction) -> str:
    """What the log keeps beside the kind: minutes, a count (`100` or `100/60` with a window
    in minutes), an actor; empty when the kind says it all."""
    match action:
        case Ignore(mode="duration", amount=minutes):
            return str(minutes)
        case Ignore(mode="events" | "users", amount=count, window=window):
            return f"{count}/{window}" if window else str(count)
        case Assign(actor=actor):
            return actor
    return ""


# ---- what the card and replies say ------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count:,} more {noun}{'' if count == 1 else 's'}"


def words(action: TriageAction, *, assignee_label: str = "") -> str:
    """How the card's last-action line names what happened ("Ignored for 2 hours")."""
    match action:
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
    return "Unresolved"


# ---- what Sentry is sent ----------------------------------------------------------------------


def sentry_body(action: TriageAction) -> dict[str, Any]:
    """The partial `PUT …/issues/{id}/` body (the same for the bulk `PUT …/issues/?id=…`).

    Sentry API docs, "Update an Issue"; the archive substatuses are those of Sentry
    `src/sentry/types/group.py` (`GroupSubStatus`), the ignore fields those of
    `validators/status_details.py`.
    """
    match action:
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
    return {"status": "unresolved"}
