"""The card's interaction contract: action_ids never change, action values round-trip."""

from __future__ import annotations

import itertools

import pytest

from bot.sentry.ids import IssueId
from bot.slack import actions
from bot.slack.actions import (
    ActionValue,
    ActionValueError,
    block_id,
    issue_id_from_block_id,
)

VALID_PAIRS = [
    *((actions.OP_RESOLVE, arg) for arg in actions.RESOLVE_ARGS),
    *((actions.OP_IGNORE, arg) for arg in actions.IGNORE_ARGS),
    (actions.OP_ASSIGN, "me"),
    (actions.OP_ASSIGN, "none"),
    (actions.OP_ASSIGN, "user:42"),
    (actions.OP_ASSIGN, "team:7"),
    (actions.OP_UNRESOLVE, ""),
    (actions.OP_OPEN, ""),
]


def test_action_ids_are_the_published_contract() -> None:
    # Cards stay in Slack for months: these literals must never change.
    assert actions.ISSUE_RESOLVE == "issue.resolve"
    assert actions.ISSUE_IGNORE == "issue.ignore"
    assert actions.ISSUE_ASSIGN == "issue.assign"
    assert actions.ISSUE_UNRESOLVE == "issue.unresolve"
    assert actions.ISSUE_OPEN == "issue.open"


def test_encoded_values_are_the_published_format() -> None:
    assert ActionValue("123", "resolve", "next_release").encode() == "1|123|resolve|next_release"
    assert ActionValue("123", "unresolve").encode() == "1|123|unresolve|"
    assert ActionValue.decode("1|9|assign|team:7") == ActionValue("9", "assign", "team:7")


@pytest.mark.parametrize(("op", "arg"), VALID_PAIRS)
def test_round_trip_for_every_op(op: str, arg: str) -> None:
    for issue_id in ["1", "4506842918", str(2**63 - 1)]:
        value = ActionValue(issue_id, op, arg)
        encoded = value.encode()
        assert len(encoded) <= actions.VALUE_MAX_LENGTH
        assert ActionValue.decode(encoded) == value


def test_round_trip_over_id_lengths() -> None:
    for length, (op, arg) in itertools.product(range(1, 41), VALID_PAIRS):
        issue_id = ("1234567890" * 4)[:length]
        try:
            value = ActionValue(issue_id, op, arg)
        except ActionValueError:
            # Only refused when the id does not fit Sentry's 64-bit issue ids.
            assert int(issue_id) > 2**63 - 1
            continue
        assert len(value.encode()) <= actions.VALUE_MAX_LENGTH
        assert ActionValue.decode(value.encode()) == value


def test_the_longest_ids_still_fit_a_value() -> None:
    value = ActionValue(str(2**63 - 1), "assign", "team:" + "1" * 40)
    assert len(value.encode()) <= actions.VALUE_MAX_LENGTH
    assert ActionValue.decode(value.encode()) == value


def test_issue_ids_are_typed() -> None:
    value = ActionValue.decode("1|4506842918|resolve|now")
    assert isinstance(value.issue_id, IssueId)
    assert isinstance(ActionValue("7", "unresolve").issue_id, IssueId)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1",
        "2|1|resolve|now",
        "0|1|resolve|now",
        "v1|1|resolve|now",
        "1|1|resolve",
        "1|1|resolve|now|extra",
        "1||resolve|now",
        "1| 1|resolve|now",
        "1|1|explode|",
        "1|1|resolve|later",
        "1|1|resolve|",
        "1|1|ignore|10m",
        "1|1|unresolve|now",
        "1|1|assign|",
        "1|1|assign|user:",
        "1|1|assign|bob:1",
        "1|1|assign|user:1:2",
        "1|1/2|resolve|now",
        "1|.|resolve|now",
        "1|..|resolve|now",
        "1|0|resolve|now",
        "1|00|resolve|now",
        "1|abc-DEF_1|resolve|now",
        "1|" + "1" * 40 + "|resolve|now",
        "1|9223372036854775808|resolve|now",
        "1| 7|resolve|now",
        "1|\u0661|resolve|now",
        "1|" + "1" * 80 + "|resolve|now",
        "<!channel>",
    ],
)
def test_malformed_values_raise_action_value_error(value: str) -> None:
    with pytest.raises(ActionValueError):
        ActionValue.decode(value)


@pytest.mark.parametrize("value", [None, 1, b"1|1|resolve|now", ["1", "1"]])
def test_non_strings_raise_action_value_error(value: object) -> None:
    with pytest.raises(ActionValueError):
        ActionValue.decode(value)


def test_action_value_error_is_a_value_error() -> None:
    assert issubclass(ActionValueError, ValueError)


def test_block_id_carries_the_issue_id() -> None:
    assert block_id("42", "controls", "abc123") == "issue:42:controls:abc123"
    assert issue_id_from_block_id("issue:42:controls:abc123") == "42"
    assert isinstance(issue_id_from_block_id("issue:42:controls:abc123"), IssueId)
    for bad in [
        "",
        "issue:42",
        "storm:x:1",
        "issue::a:b",
        "issue:4 2:a:b",
        "issue:.:a:b",
        "issue:..:a:b",
        "issue:" + "1" * 40 + ":a:b",
        None,
    ]:
        with pytest.raises(ActionValueError):
            issue_id_from_block_id(bad)
    with pytest.raises(ActionValueError):
        block_id("42", "a:b", "rev")
