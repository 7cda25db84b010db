"""Every decoder of what a control, menu or dialog carries: only its typed error escapes, and any
issue id that comes out is a valid `IssueId` (never `.`, `..`, empty or 40 digits)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sentry.ids import IssueId
from bot.slack import actions
from bot.slack.actions import ActionValue, ActionValueError, issue_id_from_block_id
from bot.slack.dialogs import (
    MAX_COUNT,
    DeleteRequest,
    DialogMetadataError,
    IgnoreCountRequest,
    read_ignore_count,
)
from bot.slack.reply_actions import QueryRef, QueryRefError
from tests.hostile import BAD_ISSUE_IDS, json_values, text

ops = st.sampled_from(["resolve", "ignore", "assign", "unresolve", "open", "x", ""])
args = st.one_of(
    st.sampled_from([*actions.RESOLVE_ARGS, *actions.IGNORE_ARGS, "me", "none", "user:1", ""]),
    text,
)
issue_ids = st.one_of(st.sampled_from(BAD_ISSUE_IDS), text, st.integers(0, 2**64).map(str))
hostile = st.one_of(json_values, text)


def assert_valid(issue_id: object) -> None:
    assert isinstance(issue_id, IssueId)
    assert IssueId(issue_id) == issue_id
    assert 0 < int(issue_id) < 2**63


@given(st.one_of(hostile, st.tuples(issue_ids, ops, args).map(lambda t: "1|" + "|".join(t))))
def test_action_values_decode_or_raise_action_value_error(value: Any) -> None:
    try:
        decoded = ActionValue.decode(value)
    except ActionValueError:
        return
    assert_valid(decoded.issue_id)
    assert decoded.encode() == value


@given(st.one_of(hostile, st.tuples(issue_ids, text, text).map(lambda t: "issue:" + ":".join(t))))
def test_block_ids_give_an_issue_id_or_raise_action_value_error(value: Any) -> None:
    try:
        issue_id = issue_id_from_block_id(value)
    except ActionValueError:
        return
    assert_valid(issue_id)


metadata = st.one_of(
    hostile,
    hostile.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "i": st.one_of(issue_ids, hostile),
            "m": st.one_of(st.sampled_from(["events", "users"]), hostile),
            "c": st.one_of(st.just("C0ALERTS1"), hostile),
            "t": st.one_of(st.just("1700000000.000100"), hostile),
            "s": st.one_of(st.just("WEB-3F"), hostile),
        },
    ).map(json.dumps),
)


@given(metadata)
def test_ignore_dialog_metadata_decodes_or_raises_its_error(value: Any) -> None:
    try:
        request = IgnoreCountRequest.decode(value)
    except DialogMetadataError:
        return
    assert_valid(request.issue_id)
    assert request.mode in ("events", "users")
    assert IgnoreCountRequest.decode(request.encode()) == request


@given(metadata)
def test_delete_dialog_metadata_decodes_or_raises_its_error(value: Any) -> None:
    try:
        request = DeleteRequest.decode(value)
    except DialogMetadataError:
        return
    assert_valid(request.issue_id)
    assert DeleteRequest.decode(request.encode()) == request


@pytest.mark.parametrize("bad", BAD_ISSUE_IDS)
def test_dialogs_naming_a_bad_issue_are_refused(bad: str) -> None:
    with pytest.raises(DialogMetadataError):
        IgnoreCountRequest.decode(json.dumps({"i": bad, "m": "events", "c": "C1", "t": "1.2"}))
    with pytest.raises(DialogMetadataError):
        DeleteRequest.decode(json.dumps({"i": bad, "s": "WEB-1", "c": "C1"}))


def test_metadata_written_by_the_app_decodes() -> None:
    ignore = IgnoreCountRequest(IssueId("42"), "users", "C0ALERTS1", "1700000000.000100")
    assert IgnoreCountRequest.decode(ignore.encode()) == ignore
    delete = DeleteRequest(IssueId("42"), "WEB-3F", "C0ALERTS1")
    assert DeleteRequest.decode(delete.encode()) == delete


count_inputs = st.one_of(st.integers(-5, 2 * MAX_COUNT).map(str), text, st.none())
state_values = st.one_of(
    hostile,
    st.tuples(count_inputs, st.one_of(st.sampled_from(["0", "60", "1440", "10080"]), hostile)).map(
        lambda t: {
            "values": {
                "ignore_count": {"count": {"type": "plain_text_input", "value": t[0]}},
                "ignore_window": {"window": {"selected_option": {"value": t[1]}}},
            }
        }
    ),
)


@given(state_values)
def test_ignore_counts_are_read_from_any_state(state: Any) -> None:
    count, window, error = read_ignore_count(state)
    assert window in (0, 60, 1440, 10080)
    if error is None:
        assert count is not None
        assert 1 <= count <= MAX_COUNT
    else:
        assert count is None
        assert error


query_values = st.one_of(
    hostile,
    st.fixed_dictionaries(
        {"v": st.one_of(st.just(1), hostile), "t": st.one_of(text, hostile)},
        optional={
            "c": st.one_of(st.just("1700000000000:100:0"), hostile),
            "o": st.one_of(st.integers(-1, 200_000), hostile),
        },
    ).map(json.dumps),
)


@given(query_values)
def test_reply_buttons_decode_or_raise_query_ref_error(value: Any) -> None:
    try:
        query = QueryRef.decode(value)
    except QueryRefError:
        return
    assert isinstance(query.text, str)
    assert query.cursor is None or query.cursor.count(":") == 2
    assert 0 <= query.offset <= 100_000
