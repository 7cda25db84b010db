"""Reading the `link_shared` event: Slack's example, the composer variant, and any payload at
all read without raising."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.unfurls.event import MAX_LINKS, UnfurlTarget, read_link_shared

EXAMPLE = Path(__file__).resolve().parents[1] / "fakes" / "slack_examples"


def callback(**event: Any) -> dict[str, Any]:
    base = {
        "type": "link_shared",
        "channel": "C111",
        "user": "U111",
        "message_ts": "1.2",
        "links": [{"domain": "sentry.io", "url": "https://acme.sentry.io/issues/1/"}],
    }
    return {"type": "event_callback", "event": {**base, **event}}


def test_slacks_example_is_read_with_its_unfurl_id_as_target() -> None:
    body = json.loads((EXAMPLE / "events_api_link_shared.json").read_text())
    shared = read_link_shared(body)
    assert shared is not None
    assert shared.user == "U123ABC456"
    assert shared.urls == (
        "https://example.com/12345",
        "https://example.com/67890",
        "https://yet.another-example.com/v/abcde",
    )
    assert shared.target.arguments() == {
        "unfurl_id": body["event"]["unfurl_id"],
        "source": "conversations_history",
    }
    assert not shared.shared_externally


def test_the_composer_variant_is_unfurled_by_its_unfurl_id() -> None:
    body = callback(channel=None, channel_id="COMPOSER", unfurl_id="U.1", source="composer")
    shared = read_link_shared(body)
    assert shared is not None
    assert shared.target.arguments() == {"unfurl_id": "U.1", "source": "composer"}


def test_channel_and_ts_are_the_target_without_an_unfurl_id() -> None:
    shared = read_link_shared(callback())
    assert shared is not None
    assert shared.target == UnfurlTarget(channel="C111", ts="1.2")
    assert shared.target.arguments() == {"channel": "C111", "ts": "1.2"}


def test_repeated_links_count_once_and_at_most_max_links_are_read() -> None:
    links = [{"url": f"https://acme.sentry.io/issues/{i % 20}/"} for i in range(40)]
    shared = read_link_shared(callback(links=links))
    assert shared is not None
    assert len(shared.urls) == MAX_LINKS
    assert len(set(shared.urls)) == MAX_LINKS


def test_nothing_to_unfurl_is_none() -> None:
    assert read_link_shared(callback(links=[])) is None
    assert read_link_shared(callback(user=None)) is None
    assert read_link_shared(callback(channel=None)) is None
    assert read_link_shared(callback(type="app_mention")) is None
    assert read_link_shared({"type": "event_callback", "event": "x"}) is None


def test_a_channel_the_bot_is_not_in_is_marked() -> None:
    shared = read_link_shared(callback(is_bot_user_member=False))
    assert shared is not None
    assert not shared.bot_in_channel
    absent = read_link_shared(callback())
    assert absent is not None
    assert absent.bot_in_channel


def test_a_channel_shared_with_another_organization_is_marked() -> None:
    shared = read_link_shared({**callback(), "is_ext_shared_channel": True})
    assert shared is not None
    assert shared.shared_externally


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    event=st.dictionaries(
        st.sampled_from(
            ["type", "channel", "user", "message_ts", "unfurl_id", "source", "links", "user_team"]
        ),
        json_values,
    ),
    link_shared=st.booleans(),
)
def test_any_event_is_read_without_raising(event: dict[str, Any], link_shared: bool) -> None:
    if link_shared:
        event["type"] = "link_shared"
    shared = read_link_shared({"type": "event_callback", "event": event})
    if shared is not None:
        assert all(isinstance(url, str) and url for url in shared.urls)
        assert shared.target.arguments()
