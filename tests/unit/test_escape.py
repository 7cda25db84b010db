"""mrkdwn safety: escaping order, entity-safe truncation, links and mentions.

The rules are those of Slack's "Formatting message text" page
(docs.slack.dev/messaging/formatting-message-text).
"""

from __future__ import annotations

import re

import pytest

from bot.slack.escape import (
    escape_mrkdwn,
    http_url,
    link,
    mention,
    mrkdwn,
    one_line,
    plain,
    safe_url,
    truncate,
    user_mention,
)

PARTIAL_ENTITY_AT_END = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?…?$")


def test_escapes_ampersand_first_then_angle_brackets() -> None:
    assert escape_mrkdwn("a & b") == "a &amp; b"
    assert escape_mrkdwn("<!channel>") == "&lt;!channel&gt;"
    assert escape_mrkdwn("&lt;") == "&amp;lt;"
    assert escape_mrkdwn("<@U123|x> <https://evil|x>") == "&lt;@U123|x&gt; &lt;https://evil|x&gt;"


def test_strips_control_characters_but_keeps_newline_and_tab() -> None:
    assert escape_mrkdwn("a\x00b\x1bc\x7fd\x85e\nf\tg") == "abcde\nf\tg"


def test_one_line_collapses_whitespace() -> None:
    assert one_line("  a\n\tb \r\n c\x00 ") == "a b c"


def test_truncate_keeps_short_text_and_marks_cuts() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"
    assert truncate("abcd", 1) == "…"
    assert truncate("abcd", 0) == ""
    assert truncate("ab   cd", 6) == "ab…"
    assert truncate("naïve 日本語テキスト", 8) == "naïve 日…"


@pytest.mark.parametrize("raw", ["&" * 40, "<>" * 30, "a&b<c>d" * 10, "x" + "&<" * 20])
def test_truncate_never_splits_an_entity(raw: str) -> None:
    escaped = escape_mrkdwn(raw)
    for limit in range(1, len(escaped) + 2):
        cut = truncate(escaped, limit)
        assert len(cut) <= limit
        if cut != escaped:
            assert cut.endswith("…")
            assert not PARTIAL_ENTITY_AT_END.search(cut.removesuffix("…")), (limit, cut)
        assert "&" not in re.sub(r"&(amp|lt|gt);", "", cut)


def test_mrkdwn_escapes_then_fits_the_limit() -> None:
    assert mrkdwn("<!here>" * 100, 20) == "&lt;!here&gt;&lt;!h…"
    assert len(mrkdwn("&" * 1000, 2000)) <= 2000


def test_plain_removes_control_sequence_brackets_and_truncates() -> None:
    assert plain("<!here> & <@U1>\nok", 75) == "\u2039!here\u203a & \u2039@U1\u203a ok"
    assert plain("x" * 100, 75) == "x" * 74 + "…"


def test_http_url_percent_encodes_what_breaks_a_link() -> None:
    assert (
        http_url('https://s.io/a b|c<d>"e?q=1&r=2') == "https://s.io/a%20b%7Cc%3Cd%3E%22e?q=1&r=2"
    )
    assert http_url("https://s.io/ü") == "https://s.io/%C3%BC"
    assert http_url("HTTP://s.io/") == "HTTP://s.io/"
    assert safe_url("https://s.io/?q=1&r=2") == "https://s.io/?q=1&amp;r=2"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "mailto:a@b.c",
        "https:",
        "/relative",
        "",
        "http://[",
    ],
)
def test_http_url_refuses_other_schemes(url: str) -> None:
    assert http_url(url) is None
    assert link(url, "<b> & c") == "&lt;b&gt; &amp; c"


def test_link_escapes_the_label_and_encodes_the_url() -> None:
    assert (
        link("https://x.io/a|b", "<!channel> & <@U1>")
        == "<https://x.io/a%7Cb|&lt;!channel&gt; &amp; &lt;@U1&gt;>"
    )
    assert link("https://x.io/", "multi\nline") == "<https://x.io/|multi line>"


def test_link_respects_both_limits() -> None:
    linked = link("https://x.io/", "t" * 500, limit=100)
    assert len(linked) <= 100
    assert linked.startswith("<https://x.io/|t")
    assert link("https://x.io/", "t" * 500, label_limit=10) == "<https://x.io/|ttttttttt…>"
    # A URL that leaves no room for a readable label drops the link, keeping the label.
    assert link("https://x.io/" + "p" * 200, "title", limit=100) == "title"


def test_mentions_accept_only_well_formed_ids() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>"
    assert mention("W0123ABC") == "<@W0123ABC>"
    assert mention("S0123ONCALL") == "<!subteam^S0123ONCALL>"
    assert user_mention("U1A") == "<@U1A>"
    for hostile in [
        "U1>",
        "S1|x",
        "u0123",
        "C0123ABC",
        "here",
        "U",
        "S01 23",
        "U0123\n",
        "<!here>",
    ]:
        with pytest.raises(ValueError, match="not a Slack"):
            mention(hostile)
    with pytest.raises(ValueError, match="not a Slack user ID"):
        user_mention("S0123ONCALL")
