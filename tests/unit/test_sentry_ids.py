"""Typed Sentry identifiers accept exactly the values Sentry accepts and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sentry.ids import MAX_BIGINT, InvalidId, IssueId, ReleaseVersion, ShortId, Slug


@given(st.integers(min_value=1, max_value=MAX_BIGINT))
def test_every_bigint_issue_id_round_trips(number: int) -> None:
    assert IssueId(str(number)) == str(number)
    assert IssueId(number) == str(number)


@given(st.text(max_size=30))
def test_issue_id_is_only_ever_a_positive_bigint(text: str) -> None:
    parsed = IssueId.parse(text)
    if parsed is not None:
        assert parsed.isascii()
        assert parsed.isdigit()
        assert 1 <= int(parsed) <= MAX_BIGINT
        assert not parsed.startswith("0")


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "0", "-1", "1e3", "12a", "9" * 40, str(MAX_BIGINT + 1), True, None, 1.0],
)
def test_bad_issue_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidId):
        IssueId(value)


@given(st.text(max_size=60))
def test_no_identifier_type_can_hold_a_dot_segment_or_empty(text: str) -> None:
    for kind in (IssueId, ShortId, Slug, ReleaseVersion):
        try:
            value = kind(text)
        except InvalidId:
            continue
        assert value not in ("", ".", "..")
        assert value == value.strip()


def test_short_ids_are_upper_case() -> None:
    assert ShortId("backend-3f") == "BACKEND-3F"


@pytest.mark.parametrize("value", ["latest", "a/b", "a\\b", "a\nb", ".", "..", "x" * 201])
def test_release_versions_sentry_refuses(value: str) -> None:
    with pytest.raises(InvalidId):
        ReleaseVersion(value)


def test_release_versions_may_hold_plus_and_at() -> None:
    assert ReleaseVersion("backend@1.2.3+build 7") == "backend@1.2.3+build 7"


def test_invalid_id_message_never_echoes_a_long_value() -> None:
    with pytest.raises(InvalidId) as caught:
        IssueId("1" * 5000)
    assert len(str(caught.value)) < 80
