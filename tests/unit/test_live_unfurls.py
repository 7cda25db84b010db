"""Which unfurls can be kept current, and which Slack answers end keeping one current."""

from __future__ import annotations

import pytest

from bot.unfurls.event import UnfurlTarget
from bot.unfurls.live import LiveUnfurls, gone


def test_a_sent_message_is_kept_current_and_a_link_in_the_composer_is_not() -> None:
    sent = UnfurlTarget(channel="C1", ts="1.2", unfurl_id="C1.12.x", source="conversations_history")
    assert LiveUnfurls.trackable(sent)
    assert LiveUnfurls.trackable(UnfurlTarget(channel="C1", ts="1.2"))
    # Slack docs ("Unfurling links in messages"): a link pasted in the composer has no channel,
    # and a second `link_shared` names the message once it is sent.
    composer = UnfurlTarget(unfurl_id="U.1", source="composer")
    assert not LiveUnfurls.trackable(composer)
    assert not LiveUnfurls.trackable(UnfurlTarget(channel="COMPOSER", ts="U.1", source="composer"))


@pytest.mark.parametrize(
    "answer",
    [
        "cannot_find_message",
        "cannot_find_channel",
        "channel_not_found",
        "is_archived",
        "cannot_unfurl_message",
        "cannot_unfurl_url",
        "invalid_blocks",
        "missing_scope: the bot token lacks links:write; reinstall the app from slack_manifest.yml",
    ],
)
def test_a_message_slack_will_not_unfurl_again_is_given_up(answer: str) -> None:
    assert gone(answer)


@pytest.mark.parametrize(
    "answer", ["ratelimited", "internal_error", "invalid_auth", "Slack could not be reached (X)"]
)
def test_a_passing_failure_is_tried_again_next_time(answer: str) -> None:
    assert not gone(answer)
