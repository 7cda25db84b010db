"""Comparing a card with Sentry from the short answer (`collapse=stats`) decides exactly as the
full issue would: the same status, substatus and assignee, read the same way."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.card.state import revision as card_state_hash
from bot.sentry.models import Issue, IssueState, UnreadableItem

# Anything Sentry (or something posing as it) might put in the fields a card's state reads.
values = st.none() | st.booleans() | st.integers() | st.text(max_size=80) | st.lists(st.text())
actors = values | st.fixed_dictionaries(
    {"type": st.sampled_from(["user", "team", "weird"]) | values, "id": values, "name": values}
)


def issue_json(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "42", "project": {"id": "1", "slug": "web"}, "title": "t"}
    body.update(fields)
    return body


@given(
    status=st.sampled_from(["unresolved", "resolved", "ignored"]) | values,
    substatus=st.sampled_from(["regressed", "escalating", "ongoing", None]) | values,
    assignee=actors,
)
def test_the_short_answer_hashes_as_the_full_issue(
    status: object, substatus: object, assignee: object
) -> None:
    full = issue_json(status=status, substatus=substatus, assignedTo=assignee, count="7")
    # What `collapse=stats` leaves of the same issue.
    short = {k: v for k, v in full.items() if k not in ("count", "userCount")}
    issue = Issue.from_api(full, web_base="https://sentry.io", org="acme")
    state = IssueState.from_api(short)
    assert state.id == issue.id
    assert card_state_hash(state) == card_state_hash(issue)


@pytest.mark.parametrize("raw_id", [None, "..", "4 2", "", 4.2])
def test_an_issue_without_a_numeric_id_is_unreadable_in_both_forms(raw_id: object) -> None:
    with pytest.raises(UnreadableItem):
        IssueState.from_api(issue_json(id=raw_id))
    with pytest.raises(UnreadableItem):
        Issue.from_api(issue_json(id=raw_id), web_base="https://sentry.io", org="acme")
