"""The fake Slack serves "Send to Sentry" as Slack does: `chat.getPermalink` (Slack docs:
chat.getPermalink, no scope, errors `channel_not_found` and `message_not_found`; a thread
reply's link carries `thread_ts` and `cid`) and `message_action` payloads over HTTP and Socket
Mode (Slack docs: message shortcuts; `accepts_response_payload` is false for them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.slack_requests import message_action
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_socket import SocketHub


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_channel("C111", "alerts")
        fake.add_user("U111", "ada@example.com", "ada")
        yield fake


def permalink(slack: FakeSlack, **args: str) -> dict[str, object]:
    response = httpx.post(
        slack.api_url + "chat.getPermalink",
        json=args,
        headers={"Authorization": f"Bearer {slack.bot_token}"},
        timeout=5,
    )
    body: dict[str, object] = response.json()
    return body


def test_permalinks_of_messages_and_thread_replies(slack: FakeSlack) -> None:
    root = slack.add_user_message("C111", "U111", "root")
    reply = slack.add_user_message("C111", "U111", "reply", thread_ts=root)
    base = "https://subarachnoid.slack.com/archives/C111/p"
    assert permalink(slack, channel="C111", message_ts=root)["permalink"] == (
        base + root.replace(".", "")
    )
    assert permalink(slack, channel="C111", message_ts=reply)["permalink"] == (
        f"{base}{reply.replace('.', '')}?thread_ts={root}&cid=C111"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel": "C999", "message_ts": "1.000001"}, "channel_not_found"),
        ({"channel": "C111", "message_ts": "1.000001"}, "message_not_found"),
        ({"channel": "C111"}, "invalid_arguments"),
    ],
)
def test_permalink_refusals(slack: FakeSlack, args: dict[str, str], error: str) -> None:
    answer = permalink(slack, **args)
    assert (answer["ok"], answer["error"]) == (False, error)


def test_a_message_shortcut_payload_and_its_socket_envelope(slack: FakeSlack) -> None:
    ts = slack.add_user_message("C111", "U111", "look <@U111>")
    message = slack.message("C111", ts).as_slack()
    payload = message_action("U111", "T111", {"id": "C111", "name": "alerts"}, message, "u")
    assert payload["type"] == "message_action"
    assert payload["callback_id"] == "message.to_sentry"
    assert payload["message"]["user"] == "U111"
    assert payload["message_ts"] == ts == payload["message"]["ts"]
    frame = SocketHub.envelope("interactive", payload, retry_attempt=0, retry_reason="")
    assert frame["accepts_response_payload"] is False
