"""The conversation's pure texts: Slack markup read as plain text, the comments the app writes
in Sentry, the Sentry comment reply and the picker's metadata."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.conversation.texts import (
    COMMENT_TEXT_MAX,
    attribution,
    mentioned_users,
    sent_message,
    slack_to_plain,
    unescape,
)
from bot.slack.comments import (
    PRIVATE_METADATA_MAX,
    PickMetadataError,
    build_comment_reply,
    build_issue_picker,
    decode_pick,
    encode_pick,
)


def slack_escape(text: str) -> str:
    """What Slack does to what a person types (Slack docs: formatting, escaping text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@given(st.text())
def test_typed_text_reads_back_exactly_as_typed(typed: str) -> None:
    assert slack_to_plain(slack_escape(typed), {}) == typed


@pytest.mark.parametrize(
    ("markup", "plain"),
    [
        ("<@U123>", "@Ana"),
        ("<@U999|bo>", "@bo"),
        ("<@U999>", "@U999"),
        ("<#C123|alerts>", "#alerts"),
        ("<#C123>", "#C123"),
        ("<https://x.test/a?b=1&amp;c=2|the logs>", "the logs (https://x.test/a?b=1&c=2)"),
        ("<https://x.test/>", "https://x.test/"),
        ("<https://x.test/|https://x.test/>", "https://x.test/"),
        ("<mailto:a@b.test|a@b.test>", "a@b.test"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S123|@oncall>", "@oncall"),
        ("<!subteam^S123>", "@S123"),
        ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
        ("2 &lt; 3 &amp;&amp; 4 &gt; 1", "2 < 3 && 4 > 1"),
        ("&amp;lt;", "&lt;"),
    ],
)
def test_slack_markup_becomes_what_a_reader_saw(markup: str, plain: str) -> None:
    assert slack_to_plain(markup, {"U123": "Ana"}) == plain


# Typed text holds no "|", so any "|" left in the plain text is a label separator that leaked.
segments = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="<>|"), max_size=20).map(slack_escape),
    st.from_regex(r"<@U[A-Z0-9]{4}(\|[a-z]{1,8})?>", fullmatch=True),
    st.from_regex(r"<#C[A-Z0-9]{4}\|[a-z]{1,8}>", fullmatch=True),
    st.from_regex(r"<https://[a-z]{1,8}\.test/[a-z]{0,5}(\|[a-z ]{1,8})?>", fullmatch=True),
    st.sampled_from(["<!here>", "<!channel>", "<!subteam^S1234|@ops>"]),
)


@given(st.lists(segments, max_size=12))
def test_no_slack_control_sequence_survives(parts: list[str]) -> None:
    plain = slack_to_plain("".join(parts), {})
    for sequence in ("<@", "<#", "<!", "<http", "|", "subteam^"):
        assert sequence not in plain


@given(st.lists(segments, max_size=12))
def test_every_mentioned_user_is_listed_once(parts: list[str]) -> None:
    text = "".join(parts)
    users = mentioned_users(text)
    assert len(users) == len(set(users))
    for user in users:
        assert f"<@{user}" in text


@given(st.text(max_size=50))
def test_unescape_inverts_slacks_escaping(text: str) -> None:
    assert unescape(slack_escape(text)) == text


def test_attribution_names_the_person_and_the_action() -> None:
    assert (
        attribution("Resolved", name="Ana Lima", email="ana@acme.test")
        == "Resolved in Slack by Ana Lima (ana@acme.test)"
    )
    assert (
        attribution("Unassigned", name="ana@acme.test", email="ana@acme.test")
        == "Unassigned in Slack by ana@acme.test"
    )


def test_a_sent_message_says_who_where_and_links_back() -> None:
    text = sent_message(
        author="Bo Berg",
        channel="alerts",
        permalink="https://acme.slack.com/archives/C1/p1",
        text="  it broke  ",
        sender="Ana Lima",
        sender_email="ana@acme.test",
    )
    assert text == (
        "Bo Berg wrote in #alerts on Slack (https://acme.slack.com/archives/C1/p1):\n\n"
        "it broke\n\nSent to Sentry by Ana Lima (ana@acme.test)"
    )


@given(st.text(min_size=0, max_size=20_000))
def test_a_sent_message_fits_and_never_is_blank(body: str) -> None:
    text = sent_message(
        author="Bo", channel="", permalink="", text=body, sender="Ana", sender_email="a@b.test"
    )
    assert len(text) <= COMMENT_TEXT_MAX
    assert text.strip()
    assert text.endswith("Sent to Sentry by Ana (a@b.test)")


@given(st.text(max_size=200), st.text(max_size=5000))
def test_a_sentry_comment_reply_is_escaped_and_within_limits(author: str, body: str) -> None:
    message = build_comment_reply(author=author, text=body)
    section = message["blocks"][0]["text"]["text"]
    assert len(section) <= 3000
    assert len(message["text"]) <= 3000
    for text in (section, message["text"]):
        assert "<" not in text
        assert ">" not in text


def test_a_sentry_comment_reply_names_the_author() -> None:
    message = build_comment_reply(author="Bo Berg", text="on it <!channel> & more")
    assert message["text"] == "Bo Berg commented in Sentry: on it &lt;!channel&gt; &amp; more"
    assert message["blocks"][0]["text"]["text"] == (
        "*Bo Berg* commented in Sentry:\non it &lt;!channel&gt; &amp; more"
    )


message_fields = st.fixed_dictionaries(
    {
        "channel": st.from_regex(r"C[A-Z0-9]{8}", fullmatch=True),
        "channel_name": st.text(max_size=80),
        "ts": st.from_regex(r"[0-9]{10}\.[0-9]{6}", fullmatch=True),
        "thread_ts": st.none() | st.from_regex(r"[0-9]{10}\.[0-9]{6}", fullmatch=True),
        "text": st.text(max_size=6000),
        "author": st.none() | st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True),
        "author_name": st.text(max_size=80),
    }
)


@given(message_fields)
def test_the_picker_carries_the_message_within_slacks_limit(
    message: dict[str, str | None],
) -> None:
    view = build_issue_picker(message)
    assert len(view["private_metadata"]) <= PRIVATE_METADATA_MAX
    back = decode_pick(view["private_metadata"])
    for name in ("channel", "channel_name", "ts", "thread_ts", "author", "author_name"):
        assert back[name] == message[name]
    text = str(message["text"])
    assert back["text"] == text or (str(back["text"]).endswith("…") or back["text"] == "")


@pytest.mark.parametrize(
    "raw",
    [None, "", "{", "[]", json.dumps({"v": "2", "channel": "C1", "ts": "1.2"}), '{"v":"1"}'],
)
def test_a_picker_from_elsewhere_is_refused(raw: object) -> None:
    with pytest.raises(PickMetadataError):
        decode_pick(raw)


def test_encode_pick_shortens_only_the_text() -> None:
    encoded = encode_pick({"channel": "C1", "ts": "1.2", "text": "x" * 10_000})
    assert len(encoded) <= PRIVATE_METADATA_MAX
    assert decode_pick(encoded)["channel"] == "C1"
