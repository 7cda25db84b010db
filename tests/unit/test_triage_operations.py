"""What each triage operation sends to Sentry (CONTRACT.md §6.6) and how the card words it."""

from typing import Any

import pytest

from bot.slack import actions
from bot.triage.operations import (
    Assign,
    Ignore,
    Operation,
    Resolve,
    Unresolve,
    from_action,
    sentry_changes,
    verb,
)


@pytest.mark.parametrize(
    ("operation", "body", "words"),
    [
        (Resolve("now"), {"status": "resolved"}, "Resolved"),
        (
            Resolve("next_release"),
            {"status": "resolved", "statusDetails": {"inNextRelease": True}},
            "Resolved in next release",
        ),
        (
            Resolve("current_release"),
            {"status": "resolved", "statusDetails": {"inRelease": "latest"}},
            "Resolved in current release",
        ),
        (
            Ignore("until_escalating"),
            {"status": "ignored", "substatus": "archived_until_escalating", "statusDetails": {}},
            "Ignored until escalating",
        ),
        (
            Ignore("forever"),
            {"status": "ignored", "substatus": "archived_forever", "statusDetails": {}},
            "Ignored forever",
        ),
        (
            Ignore("duration", 120),
            {"status": "ignored", "statusDetails": {"ignoreDuration": 120}},
            "Ignored for 2 hours",
        ),
        (
            Ignore("events", 100, 60),
            {"status": "ignored", "statusDetails": {"ignoreCount": 100, "ignoreWindow": 60}},
            "Ignored until 100 more events",
        ),
        (
            Ignore("users", 5),
            {"status": "ignored", "statusDetails": {"ignoreUserCount": 5}},
            "Ignored until 5 more users",
        ),
        (Assign(""), {"assignedTo": ""}, "Unassigned"),
        (Unresolve(), {"status": "unresolved"}, "Unresolved"),
    ],
)
def test_bodies_and_words(operation: Operation, body: dict[str, Any], words: str) -> None:
    assert sentry_changes(operation) == body
    assert verb(operation) == words


def test_assignment_names_the_assignee() -> None:
    assert sentry_changes(Assign("team:7")) == {"assignedTo": "team:7"}
    assert verb(Assign("team:7"), assignee_label="#backend") == "Assigned to #backend"


@pytest.mark.parametrize(
    ("op", "arg", "expected"),
    [
        (actions.OP_RESOLVE, actions.RESOLVE_NOW, Resolve("now")),
        (actions.OP_RESOLVE, actions.RESOLVE_NEXT_RELEASE, Resolve("next_release")),
        (actions.OP_RESOLVE, actions.RESOLVE_CURRENT_RELEASE, Resolve("current_release")),
        (actions.OP_IGNORE, actions.IGNORE_UNTIL_ESCALATING, Ignore("until_escalating")),
        (actions.OP_IGNORE, actions.IGNORE_30M, Ignore("duration", 30)),
        (actions.OP_IGNORE, actions.IGNORE_2H, Ignore("duration", 120)),
        (actions.OP_IGNORE, actions.IGNORE_24H, Ignore("duration", 1440)),
        (actions.OP_IGNORE, actions.IGNORE_1W, Ignore("duration", 10080)),
        (actions.OP_IGNORE, actions.IGNORE_FOREVER, Ignore("forever")),
        (actions.OP_IGNORE, actions.IGNORE_EVENTS, None),
        (actions.OP_IGNORE, actions.IGNORE_USERS, None),
        (actions.OP_ASSIGN, actions.ASSIGN_ME, Assign("user:42")),
        (actions.OP_ASSIGN, actions.ASSIGN_NONE, Assign("")),
        (actions.OP_ASSIGN, "team:3", Assign("team:3")),
        (actions.OP_UNRESOLVE, "", Unresolve()),
    ],
)
def test_card_values_map_to_operations(op: str, arg: str, expected: Operation | None) -> None:
    assert from_action(op, arg, me="user:42") == expected
