"""Slack's answers become typed outcomes whatever their shape: Posted only with a real ts for
the channel asked, a history page only with well-formed messages, a bounded Retry-After."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.answers import (
    MAX_RETRY_AFTER_SECONDS,
    HistoryPage,
    Posted,
    Uncertain,
    Unreadable,
    error_code,
    parse_history_page,
    parse_post,
    parse_update,
    retry_after_seconds,
    valid_ts,
)

CHANNEL = "C0ALERTS1"
TS = "1700000000.000100"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from([TS, CHANNEL, "", "0.0", "1e400", "\u202e1700000000.1", "C0OTHER99"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = ["ok", "ts", "channel", "error", "messages", "metadata", "event_type", "event_payload"]
KEYS += ["response_metadata", "next_cursor", "issue_id", "reply_key"]


def shaped(depth: int = 2) -> st.SearchStrategy[Any]:
    """Objects built from the keys Slack's answers use, with any values, nested."""
    values = (
        json_values
        if depth == 0
        else json_values | shaped(depth - 1) | st.lists(shaped(depth - 1), max_size=3)
    )
    return st.dictionaries(st.sampled_from(KEYS), values, max_size=6) | st.fixed_dictionaries(
        {"ok": st.sampled_from([True, False, "true", 1, None])},
        optional={k: values for k in KEYS[1:]},
    )


answers = json_values | shaped()


# Generating an answer costs far more than reading it, so every reader is given each one.


def check_post(data: Any) -> None:
    """Posted only with a real ts for the channel asked."""
    outcome = parse_post(data, channel=CHANNEL)
    assert isinstance(outcome, Posted | Uncertain)
    if isinstance(outcome, Posted):
        assert data["ok"] is True
        assert outcome.ts == data["ts"]
        assert valid_ts(outcome.ts) == outcome.ts
        assert data["channel"] == CHANNEL


def check_update(data: Any) -> None:
    """Posted only for the message asked."""
    outcome = parse_update(data, channel=CHANNEL, ts=TS)
    assert isinstance(outcome, Posted | Uncertain)
    if isinstance(outcome, Posted):
        assert outcome.ts == TS
        assert data["ok"] is True


def check_history_page(data: Any) -> None:
    """A history page only with well-formed messages."""
    page = parse_history_page(data)
    assert isinstance(page, HistoryPage | Unreadable)
    if isinstance(page, HistoryPage):
        for message in page.messages:
            assert valid_ts(message.ts) == message.ts
            assert isinstance(message.event_type, str)
            json.dumps(dict(message.payload))  # plain JSON, nothing else
        assert page.next_cursor is None or isinstance(page.next_cursor, str)


def check_error_code(status: int, data: Any) -> None:
    """A short code from the answer, or the HTTP status."""
    code = error_code(status, data)
    assert code == f"http_{status}" or (
        isinstance(data, dict) and code == data.get("error") and len(code) <= 80
    )


@given(answers, st.integers(min_value=100, max_value=599))
def test_any_answer_is_typed_by_every_reader(data: Any, status: int) -> None:
    check_post(data)
    check_update(data)
    check_history_page(data)
    check_error_code(status, data)


@given(
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after", "RETRY-AFTER", "X-Other"]),
        json_values | st.lists(st.text(max_size=12), max_size=2),
        max_size=3,
    )
)
def test_retry_after_is_bounded_whatever_the_header(headers: dict[str, Any]) -> None:
    seconds = retry_after_seconds(headers)
    assert 1.0 <= seconds <= MAX_RETRY_AFTER_SECONDS


def test_the_documented_answers() -> None:
    ok = {"ok": True, "channel": CHANNEL, "ts": TS, "message": {"ts": TS}}
    assert parse_post(ok, channel=CHANNEL) == Posted(TS)
    assert isinstance(parse_post({"ok": True, "channel": CHANNEL}, channel=CHANNEL), Uncertain)
    assert isinstance(parse_post({**ok, "ts": ""}, channel=CHANNEL), Uncertain)
    assert isinstance(parse_post({**ok, "ts": 1700000000.0001}, channel=CHANNEL), Uncertain)
    assert isinstance(parse_post({**ok, "channel": "C0OTHER99"}, channel=CHANNEL), Uncertain)
    assert retry_after_seconds({"Retry-After": ["3600"]}) == 3600.0
    assert retry_after_seconds({"Retry-After": "99999999999"}) == MAX_RETRY_AFTER_SECONDS
    page = parse_history_page(
        {
            "ok": True,
            "messages": [
                {"ts": TS, "metadata": {"event_type": "card", "event_payload": {"issue_id": "1"}}},
                {"ts": None, "metadata": {"event_type": "card", "event_payload": {}}},
                "not a message",
            ],
            "response_metadata": {"next_cursor": "abc"},
        }
    )
    assert isinstance(page, HistoryPage)
    assert [(m.ts, m.event_type) for m in page.messages] == [(TS, "card")]
    assert page.next_cursor == "abc"
