"""Sentry links shared in Slack, like Slack does it: people, a message with links, the
`link_shared` event delivered over HTTP or Socket Mode, and clicks inside the unfurled cards.

Shared by the in-process unfurl tests (`tests/usecases/test_unfurls.py`) and the end-to-end
ones (`tests/e2e/test_unfurls.py`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import TOKENS
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.triage_desk import ANA, BEA, NOBODY

__all__ = ["ANA", "BEA", "NOBODY"]

GUEST = "U0GST0004"  # a guest whose e-mail is a Sentry member's
OUTSIDER = "U0OUT0005"  # from another workspace in a shared channel, e-mail of a member


def seed_people(sentry: FakeSentry, slack: FakeSlack) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    slack.add_user(BEA, "bea@example.com", "bea")
    slack.add_user(NOBODY, "nobody@example.com", "nobody")
    slack.add_user(GUEST, "gil@example.com", "gil", guest=True)
    slack.add_user(OUTSIDER, "oli@example.com", "oli", team_id="T0OTHER99")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    sentry.add_member("bea@example.com", name="Bea Ruiz", role="billing")
    sentry.add_member("gil@example.com", name="Gil Guest", role="member")
    sentry.add_member("oli@example.com", name="Oli Out", role="member")


def issue_url(sentry: FakeSentry, ref: str | int) -> str:
    return f"{sentry.url}/organizations/acme/issues/{ref}/"


@dataclass
class Shared:
    """A message with links, as the person posted it, and Slack's `link_shared` event for it."""

    slack: FakeSlack
    event: dict[str, Any]

    @property
    def ts(self) -> str:
        return str(self.event["message_ts"])

    def unfurls(self) -> dict[str, Any]:
        return self.slack.message(CHANNEL, self.ts).unfurls

    def wait_unfurled(self, count: int, timeout: float = 10.0) -> dict[str, Any]:
        self.slack.wait_for(lambda: len(self.unfurls()) >= count, timeout)
        return self.unfurls()


def share(slack: FakeSlack, user: str, urls: Sequence[str], *, channel: str = CHANNEL) -> Shared:
    return Shared(slack, slack.share_links(channel, user, urls))


def deliver_http(bot_url: str, shared: Shared, **callback: Any) -> sr.BotReply:
    """The event as Slack posts it to the Request URL, signed."""
    return sr.send_event(
        f"{bot_url}/slack/events",
        sr.event_callback(shared.event, **callback),
        TOKENS["SLACK_SIGNING_SECRET"],
    )


def deliver_socket(slack: FakeSlack, shared: Shared, **callback: Any) -> dict[str, Any]:
    """The event as an `events_api` envelope on the Socket Mode connection; returns the ack."""
    envelope_id = slack.send_event(sr.event_callback(shared.event, **callback))
    return slack.wait_for_ack(envelope_id)


def click_unfurl(
    slack: FakeSlack,
    shared: Shared,
    url: str,
    action_id: str,
    value: str | None = None,
    *,
    user: str = ANA,
) -> tuple[dict[str, Any], str]:
    """A click on a control of the card unfurled for `url`: the payload and its response_url."""
    blocks = shared.unfurls()[url]["blocks"]
    action = sr.action_for(blocks, action_id, value=value, action_ts=f"{time.time():.6f}")
    response_url = slack.new_response_url(channel=CHANNEL, user=user)
    payload = sr.unfurl_block_actions(
        user, "T111", CHANNEL, shared.ts, url, blocks, action, response_url
    )
    return payload, response_url


def send_click(bot_url: str, payload: dict[str, Any]) -> sr.BotReply:
    """A click delivered to the Request URL, signed (HTTP mode)."""
    body = sr.interactive_body(payload)
    headers = sr.sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time()))
    return sr.post_to_bot(f"{bot_url}/slack/events", body, headers)
