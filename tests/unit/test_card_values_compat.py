"""Every value a card or digest already in Slack carries still does exactly what it did.

Cards stay in channels for months, so this table is written out by hand, value by value, from
what the app has put in `value` fields since version 1: each must keep decoding to the same issue,
the same Sentry request body and the same words on the card. Nothing here is rebuilt with the
code under test.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.actions import ActionValue
from bot.triage.vocabulary import sentry_body, words

ME = "user:42"

# value on an old card → (issue id, Sentry `PUT …/issues/{id}/` body, card words);
# a body of "dialog:events" / "dialog:users" means the click asks for a count first, and
# "link" that the control only opens Sentry.
OLD_VALUES: dict[str, tuple[str, Any, str]] = {
    "1|4506842918|resolve|now": ("4506842918", {"status": "resolved"}, "Resolved"),
    "1|42|resolve|next_release": (
        "42",
        {"status": "resolved", "statusDetails": {"inNextRelease": True}},
        "Resolved in next release",
    ),
    "1|42|resolve|current_release": (
        "42",
        {"status": "resolved", "statusDetails": {"inRelease": "latest"}},
        "Resolved in current release",
    ),
    "1|42|ignore|until_escalating": (
        "42",
        {"status": "ignored", "substatus": "archived_until_escalating", "statusDetails": {}},
        "Ignored until escalating",
    ),
    "1|42|ignore|30m": (
        "42",
        {"status": "ignored", "statusDetails": {"ignoreDuration": 30}},
        "Ignored for 30 minutes",
    ),
    "1|42|ignore|2h": (
        "42",
        {"status": "ignored", "statusDetails": {"ignoreDuration": 120}},
        "Ignored for 2 hours",
    ),
    "1|42|ignore|24h": (
        "42",
        {"status": "ignored", "statusDetails": {"ignoreDuration": 1440}},
        "Ignored for 24 hours",
    ),
    "1|42|ignore|1w": (
        "42",
        {"status": "ignored", "statusDetails": {"ignoreDuration": 10080}},
        "Ignored for 1 week",
    ),
    "1|42|ignore|events": ("42", "dialog:events", ""),
    "1|42|ignore|users": ("42", "dialog:users", ""),
    "1|42|ignore|forever": (
        "42",
        {"status": "ignored", "substatus": "archived_forever", "statusDetails": {}},
        "Ignored forever",
    ),
    "1|42|assign|me": ("42", {"assignedTo": ME}, "Assigned to someone"),
    "1|42|assign|none": ("42", {"assignedTo": ""}, "Unassigned"),
    "1|42|assign|user:7": ("42", {"assignedTo": "user:7"}, "Assigned to someone"),
    "1|42|assign|team:3": ("42", {"assignedTo": "team:3"}, "Assigned to someone"),
    "1|9223372036854775807|assign|team:" + "1" * 40: (
        "9223372036854775807",
        {"assignedTo": "team:" + "1" * 40},
        "Assigned to someone",
    ),
    "1|42|unresolve|": ("42", {"status": "unresolved"}, "Unresolved"),
    "1|42|open|": ("42", "link", ""),
}


def decoded(value: str) -> tuple[str, Any, str]:
    """What the running app does with a value: the issue, the Sentry body, the card's words."""
    action = ActionValue.decode(value)
    if action.op == "open":
        return action.issue_id, "link", ""
    operation = action.action(me=ME)
    if operation is None:
        choice = action.choice
        assert choice is not None
        return action.issue_id, f"dialog:{choice.asks}", ""
    return action.issue_id, sentry_body(operation), words(operation)


@pytest.mark.parametrize(("value", "expected"), OLD_VALUES.items())
def test_old_card_values_keep_their_meaning(value: str, expected: tuple[str, Any, str]) -> None:
    assert decoded(value) == expected
