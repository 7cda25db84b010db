"""The ignore dialog opened from an unfurled card carries that card's link, and metadata from
before (without one) still reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sentry.ids import IssueId
from bot.slack.dialogs import DialogMetadataError, IgnoreCountRequest

URL = "https://acme.sentry.io/issues/42/?project=1"


def test_the_unfurled_link_round_trips() -> None:
    request = IgnoreCountRequest(IssueId("42"), "events", "C1", "1.000100", unfurl_url=URL)
    assert IgnoreCountRequest.decode(request.encode()) == request


def test_metadata_without_a_link_reads_as_a_card_in_a_bot_message() -> None:
    old = json.dumps({"i": "42", "m": "users", "c": "C1", "t": "1.000100"})
    assert IgnoreCountRequest.decode(old).unfurl_url == ""
    request = IgnoreCountRequest(IssueId("42"), "users", "C1", "1.000100")
    assert "u" not in json.loads(request.encode())


@pytest.mark.parametrize("bad", [5, ["x"], "javascript:alert(1)", "https://x/\n", "h" * 2001])
def test_a_link_that_is_not_one_is_refused(bad: object) -> None:
    text = json.dumps({"i": "42", "m": "users", "c": "C1", "t": "1.2", "u": bad})
    with pytest.raises(DialogMetadataError):
        IgnoreCountRequest.decode(text)


@given(st.text(max_size=2100))
def test_any_link_text_decodes_or_is_refused_clearly(text: str) -> None:
    metadata = json.dumps({"i": "42", "m": "events", "c": "C1", "t": "1.2", "u": text})
    try:
        request = IgnoreCountRequest.decode(metadata)
    except DialogMetadataError:
        return
    assert request.unfurl_url == text
    assert len(request.encode()) <= 3000
