"""The outbox's one metadata codec: every kind round-trips, earlier releases' payloads read
back unchanged, and no payload read from Slack makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.outbox.metadata import EVENT_TYPES, KINDS, Carried, MetadataError, decode, encode

# Key tails as producers write them: issue ids, "<card>.<seq>", "<digest>@<time>".
tails = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=",@"),
    min_size=1,
    max_size=40,
)
single_kinds = [k for k in KINDS if not k.many and k.read is None]
many_kinds = [k for k in KINDS if k.many and k.read is None]


@given(kind=st.sampled_from(single_kinds), tail=tails)
def test_a_message_of_one_key_round_trips(kind: object, tail: str) -> None:
    spec = next(k for k in KINDS if k is kind)
    meta = encode(spec.name, [spec.prefix + tail])
    assert decode(str(meta["event_type"]), meta["event_payload"]) == Carried(  # type: ignore[arg-type]
        spec.name, (spec.prefix + tail,)
    )


@given(kind=st.sampled_from(many_kinds), keys=st.lists(tails, min_size=1, max_size=30))
def test_a_summary_reads_back_as_a_summary_of_every_key(kind: object, keys: list[str]) -> None:
    spec = next(k for k in KINDS if k is kind)
    full = [spec.prefix + k for k in keys]
    meta = encode(spec.name, full)
    carried = decode(str(meta["event_type"]), meta["event_payload"])  # type: ignore[arg-type]
    assert carried == Carried(spec.name, tuple(full))


@given(
    digest_id=st.integers(0, 10**9),
    end=st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
)
def test_a_digest_round_trips(digest_id: int, end: str) -> None:
    key = f"digest:{digest_id}@{end}"
    meta = encode("digest", [key], {"on_demand": True})
    assert meta["event_payload"] == {"digest_id": digest_id, "period_end": end, "on_demand": True}
    assert decode("sentry_digest", meta["event_payload"]) == Carried("digest", (key,))  # type: ignore[arg-type]


def test_payloads_of_earlier_releases_are_unchanged() -> None:
    """Cards stay in Slack for months: what earlier releases wrote is what is written now."""
    assert encode("card", ["issue:42"]) == {
        "event_type": "sentry_issue_card",
        "event_payload": {"issue_id": "42"},
    }
    assert encode("summary", ["issue:1", "issue:2"]) == {
        "event_type": "sentry_issue_summary",
        "event_payload": {"issue_ids": "1,2"},
    }
    assert encode("reply", ["reply:7.1"], {"issue_id": "42"}) == {
        "event_type": "sentry_issue_reply",
        "event_payload": {"issue_id": "42", "reply_key": "7.1"},
    }
    assert decode("sentry_issue_summary", {"issue_ids": "1,2"}) == Carried(
        "summary", ("issue:1", "issue:2")
    )


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("card", ["issue:1", "issue:2"]),  # a card carries one issue
        ("card", ["reply:1.1"]),  # not a card's key
        ("summary", ["issue:1,2"]),  # a comma would split it
        ("summary", []),
        ("digest", ["digest:x@2026-01-01T00:00:00Z"]),
        ("unfurl", ["issue:1"]),  # no such kind
    ],
)
def test_keys_a_kind_cannot_carry_are_refused(kind: str, keys: list[str]) -> None:
    with pytest.raises(MetadataError):
        encode(kind, keys)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    event_type=st.sampled_from(EVENT_TYPES) | st.text(max_size=20),
    payload=st.dictionaries(
        st.sampled_from(["issue_id", "issue_ids", "reply_key", "digest_id", "period_end", "x"]),
        json_values,
        max_size=4,
    ),
)
def test_any_payload_decodes_or_is_ignored(event_type: str, payload: dict[str, object]) -> None:
    carried = decode(event_type, payload)
    assert carried is None or (carried.keys and all(carried.keys))
