"""The test Slack's chat.unfurl refuses what Slack refuses, the way Slack does: one row per rule.

Each row sends one call with plain httpx, JSON as slack_sdk sends chat.unfurl, against a message
a person posted with one link. Sources are listed in tests/fakes/README.md ("Link unfurls").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fakes.slack_method_rules import MANIFEST_BOT_SCOPES
from tests.fakes.slack_server import FakeSlack

LINK = "https://acme.sentry.io/issues/42/"
CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "*card*"}}]
NO_LINKS_WRITE = "xoxb-nolinks-0001"


@dataclass
class World:
    slack: FakeSlack
    event: dict[str, Any]

    def unfurl(self, token: str | None = None, **args: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.slack.api_url}chat.unfurl",
            json=args,
            headers={"Authorization": f"Bearer {token or self.slack.bot_token}"},
        )
        assert answer.status_code == 200
        body: dict[str, Any] = answer.json()
        return body

    @property
    def at(self) -> dict[str, str]:
        return {"channel": self.event["channel"], "ts": self.event["message_ts"]}


@pytest.fixture
def world() -> Iterator[World]:
    with FakeSlack() as slack:
        slack.add_channel("C111", "alerts")
        slack.add_channel("G111", "hidden", is_private=True, member=False)
        slack.add_user("U111", "ana@example.com", "ana")
        slack.add_token(NO_LINKS_WRITE)
        slack.set_scopes(MANIFEST_BOT_SCOPES - {"links:write"}, token=NO_LINKS_WRITE)
        yield World(slack, slack.share_links("C111", "U111", [LINK]))


ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "without_channel": ({"ts": "{ts}", "unfurls": {LINK: {"blocks": CARD}}}, "missing_channel"),
    "without_ts": ({"channel": "C111", "unfurls": {LINK: {"blocks": CARD}}}, "missing_ts"),
    "unknown_channel": (
        {"channel": "C999", "ts": "{ts}", "unfurls": {LINK: {"blocks": CARD}}},
        "cannot_find_channel",
    ),
    "invisible_private_channel": (
        {"channel": "G111", "ts": "{ts}", "unfurls": {LINK: {"blocks": CARD}}},
        "cannot_find_channel",
    ),
    "unknown_ts": (
        {"channel": "C111", "ts": "1.000001", "unfurls": {LINK: {"blocks": CARD}}},
        "cannot_find_message",
    ),
    "unfurl_id_without_source": (
        {"unfurl_id": "{unfurl_id}", "unfurls": {LINK: {"blocks": CARD}}},
        "invalid_arguments",
    ),
    "unknown_unfurl_id": (
        {"unfurl_id": "C1.2.x", "source": "conversations_history", "unfurls": {}},
        "cannot_find_message",
    ),
    "without_unfurls": ({"channel": "C111", "ts": "{ts}"}, "missing_unfurls"),
    "unfurls_not_json": (
        {"channel": "C111", "ts": "{ts}", "unfurls": "{not json"},
        "invalid_unfurls_format",
    ),
    "unfurls_not_a_map": (
        {"channel": "C111", "ts": "{ts}", "unfurls": [LINK]},
        "invalid_unfurls_format",
    ),
    "url_not_in_the_message": (
        {"channel": "C111", "ts": "{ts}", "unfurls": {"https://other/": {"blocks": CARD}}},
        "cannot_unfurl_message",
    ),
    "unfurl_without_blocks_or_attachment": (
        {"channel": "C111", "ts": "{ts}", "unfurls": {LINK: {"color": "#fff"}}},
        "cannot_parse_attachment",
    ),
    "invalid_blocks": (
        {"channel": "C111", "ts": "{ts}", "unfurls": {LINK: {"blocks": [{"type": "section"}]}}},
        "invalid_blocks",
    ),
    "rich_text_blocks": (
        {
            "channel": "C111",
            "ts": "{ts}",
            "unfurls": {LINK: {"blocks": [{"type": "rich_text", "elements": []}]}},
        },
        "invalid_blocks",
    ),
    "too_many_blocks": (
        {"channel": "C111", "ts": "{ts}", "unfurls": {LINK: {"blocks": CARD * 51}}},
        "invalid_blocks",
    ),
}


def filled(args: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    refs = {"{ts}": event["message_ts"], "{unfurl_id}": event["unfurl_id"]}
    return {
        key: refs.get(value, value) if isinstance(value, str) else value
        for key, value in args.items()
    }


@pytest.mark.parametrize("row", sorted(ROWS))
def test_chat_unfurl_refuses_like_slack(world: World, row: str) -> None:
    args, error = ROWS[row]
    answer = world.unfurl(**filled(args, world.event))
    assert (answer["ok"], answer["error"]) == (False, error)
    assert world.slack.message("C111", world.event["message_ts"]).unfurls == {}


def test_chat_unfurl_needs_links_write(world: World) -> None:
    answer = world.unfurl(NO_LINKS_WRITE, **world.at, unfurls={LINK: {"blocks": CARD}})
    assert answer["error"] == "missing_scope"
    assert answer["needed"] == "links:write"


def test_a_later_unfurl_replaces_and_both_targets_name_one_message(world: World) -> None:
    assert world.unfurl(**world.at, unfurls={LINK: {"blocks": CARD}}) == {"ok": True}
    newer = [{"type": "section", "text": {"type": "mrkdwn", "text": "*newer*"}}]
    by_id = {"unfurl_id": world.event["unfurl_id"], "source": "conversations_history"}
    assert world.unfurl(**by_id, unfurls={LINK: {"blocks": newer}}) == {"ok": True}
    message = world.slack.message("C111", world.event["message_ts"])
    assert message.unfurls == {LINK: {"blocks": newer}}
    assert message.unfurl_calls == 2


def test_the_event_describes_the_shared_message(world: World) -> None:
    event = world.event
    assert event["type"] == "link_shared"
    assert event["links"] == [{"domain": "acme.sentry.io", "url": LINK}]
    assert event["source"] == "conversations_history"
    assert world.slack.message("C111", event["message_ts"]).text == f"<{LINK}>"


def test_a_deleted_message_is_found_by_neither_target(world: World) -> None:
    assert world.unfurl(**world.at, unfurls={LINK: {"blocks": CARD}}) == {"ok": True}
    world.slack.delete_user_message("C111", world.event["message_ts"])
    by_id = {"unfurl_id": world.event["unfurl_id"], "source": "conversations_history"}
    for target in (world.at, by_id):
        answer = world.unfurl(**target, unfurls={LINK: {"blocks": CARD}})
        assert (answer["ok"], answer["error"]) == (False, "cannot_find_message")
