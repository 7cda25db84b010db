"""Reading verified deliveries: Sentry's documented bodies become hints, everything else is
ignored or refused as malformed, never an exception of another kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.webhooks.hooks import Hint, Ignored, Malformed, read_hook

CONTRACT = Path(__file__).parents[1] / "contract" / "sentry"


def example(name: str) -> bytes:
    return (CONTRACT / name).read_bytes()


def test_the_documented_created_delivery_asks_for_routing() -> None:
    # Source: Sentry docs webhooks/issues.mdx (`webhook-issue-created.json`).
    assert read_hook("issue", example("webhook-issue-created.json")) == Hint(
        "issue", "issue", "created", "1170820242", route=True
    )


def test_an_assigned_delivery_asks_for_a_redraw() -> None:
    # Source: `webhook-issue-assigned.constructed.json`, built from Sentry's receivers.
    hint = read_hook("issue", example("webhook-issue-assigned.constructed.json"))
    assert hint == Hint("issue", "issue", "assigned", "1170820242", redraw=True)


@pytest.mark.parametrize("action", ["resolved", "assigned", "ignored", "archived", "unresolved"])
def test_every_change_of_state_asks_for_a_redraw(action: str) -> None:
    body = json.dumps({"action": action, "data": {"issue": {"id": "42"}}}).encode()
    assert read_hook("issue", body) == Hint("issue", "issue", action, "42", redraw=True)


def test_a_new_comment_is_a_comment_hint_and_edits_are_ignored() -> None:
    # Source: Sentry docs webhooks/comments.mdx.
    data = {
        "comment": "adding a comment",
        "project_slug": "sentry",
        "comment_id": 1234,
        "issue_id": 100,
        "timestamp": "2022-03-02T21:51:44.118160Z",
    }
    created = json.dumps({"action": "created", "data": data}).encode()
    assert read_hook("comment", created) == Hint("comment", "comment", "created", "100")
    for action in ("updated", "deleted"):
        body = json.dumps({"action": action, "data": data}).encode()
        assert read_hook("comment", body) == Ignored("comment", action)


@pytest.mark.parametrize("resource", ["installation", "event_alert", "metric_alert", "error"])
def test_other_resources_are_ignored(resource: str) -> None:
    body = json.dumps({"action": "created", "data": {}}).encode()
    assert read_hook(resource, body) == Ignored(resource, "created")


@pytest.mark.parametrize(
    ("resource", "body", "reason"),
    [
        (None, b"{}", "Sentry-Hook-Resource"),
        ("issue", b"not json", "not JSON"),
        ("issue", b"[1, 2]", "not a JSON object"),
        ("issue", b'{"data": {}}', "`action`"),
        ("issue", b'{"action": "created"}', "`data`"),
        ("issue", b'{"action": "created", "data": {}}', "`data.issue`"),
        ("issue", b'{"action": "created", "data": {"issue": {"id": ".."}}}', "not an issue id"),
        ("issue", b'{"action": "created", "data": {"issue": {"id": true}}}', "not an issue id"),
        ("comment", b'{"action": "created", "data": {"issue_id": -1}}', "not an issue id"),
        ("issue", b"[" * 100_000, "not JSON"),
    ],
)
def test_malformed_deliveries_say_what_is_wrong(
    resource: str | None, body: bytes, reason: str
) -> None:
    with pytest.raises(Malformed, match=reason):
        read_hook(resource, body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.sampled_from(["issue", "comment", "installation", ""]),
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"action": json_values, "data": st.fixed_dictionaries({"issue": json_values})}
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_any_body_is_read_or_refused_as_malformed(resource: str, body: bytes) -> None:
    try:
        result = read_hook(resource, body)
    except Malformed:
        return
    assert isinstance(result, Hint | Ignored)
    if isinstance(result, Hint):
        assert result.issue_id.isdigit()
