"""What each triage action sends to Sentry, how the card words it and what the log calls it."""

from typing import Any

import pytest

from bot.triage.vocabulary import (
    Assign,
    Ignore,
    Resolve,
    TriageAction,
    Unresolve,
    action_for,
    kind,
    kind_arg,
    sentry_body,
    words,
)


@pytest.mark.parametrize(
    ("operation", "body", "wording"),
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
def test_bodies_and_words(operation: TriageAction, body: dict[str, Any], wording: str) -> None:
    assert sentry_body(operation) == body
    assert words(operation) == wording


def test_assignment_names_the_assignee() -> None:
    assert sentry_body(Assign("team:7")) == {"assignedTo": "team:7"}
    assert words(Assign("team:7"), assignee_label="#backend") == "Assigned to #backend"


@pytest.mark.parametrize(
    ("verb", "word", "expected"),
    [
        ("resolve", "now", Resolve("now")),
        ("resolve", "next_release", Resolve("next_release")),
        ("resolve", "current_release", Resolve("current_release")),
        ("ignore", "until_escalating", Ignore("until_escalating")),
        ("ignore", "30m", Ignore("duration", 30)),
        ("ignore", "2h", Ignore("duration", 120)),
        ("ignore", "24h", Ignore("duration", 1440)),
        ("ignore", "1w", Ignore("duration", 10080)),
        ("ignore", "forever", Ignore("forever")),
        ("ignore", "events", None),
        ("ignore", "users", None),
        ("assign", "me", Assign("user:42")),
        ("assign", "none", Assign("")),
        ("assign", "team:3", Assign("team:3")),
        ("unresolve", "", Unresolve()),
    ],
)
def test_card_words_map_to_actions(verb: str, word: str, expected: TriageAction | None) -> None:
    assert action_for(verb, word, me="user:42") == expected


@pytest.mark.parametrize(("verb", "word"), [("resolve", "later"), ("open", ""), ("assign", "")])
def test_words_no_card_carries_name_no_action(verb: str, word: str) -> None:
    with pytest.raises(ValueError, match="no triage action"):
        action_for(verb, word, me="user:42")


@pytest.mark.parametrize(
    ("action", "name", "arg"),
    [
        (Resolve("now"), "resolve.now", ""),
        (Resolve("next_release"), "resolve.next_release", ""),
        (Resolve("current_release"), "resolve.current_release", ""),
        (Ignore("until_escalating"), "ignore.until_escalating", ""),
        (Ignore("forever"), "ignore.forever", ""),
        (Ignore("duration", 120), "ignore.duration", "120"),
        (Ignore("events", 100), "ignore.events", "100"),
        (Ignore("users", 10, 60), "ignore.users", "10/60"),
        (Assign("user:42"), "assign.user", "user:42"),
        (Assign("team:7"), "assign.team", "team:7"),
        (Assign(""), "assign.none", ""),
        (Unresolve(), "unresolve", ""),
    ],
)
def test_the_log_names_each_action_by_a_stable_kind(
    action: TriageAction, name: str, arg: str
) -> None:
    # Kind names are what the action log and the metrics keep: they never change.
    assert kind(action) == name
    assert kind_arg(action) == arg
