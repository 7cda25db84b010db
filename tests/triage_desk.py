"""Triage from a card like Slack does it: a running bot with a card on screen, signed clicks
on its controls, and what Sentry and Slack saw afterwards.

Shared by the in-process triage tests (`tests/usecases/test_triage.py`) and the end-to-end ones
(`tests/e2e/test_triage.py`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tests.command_flows import ReachableBot
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    action_for,
    block_actions,
    interactive_body,
    post_to_bot,
    sign,
)
from tests.fakes.slack_server import FakeSlack

ANA = "U0ANA0001"  # a Sentry member
BEA = "U0BEA0002"  # billing role: may not triage
NOBODY = "U0NOB0003"  # no Sentry account


@dataclass
class Desk:
    """One running bot with a card on screen, and a way to click it like Slack would."""

    bot: ReachableBot
    sentry: FakeSentry
    slack: FakeSlack
    issue: dict[str, Any]

    def card(self) -> Any:
        [card] = [
            m
            for m in self.slack.messages(CHANNEL)
            if (m.metadata or {}).get("event_type") == "sentry_issue_card"
            and m.metadata["event_payload"]["issue_id"] == self.issue["id"]
        ]
        return card

    def send(self, payload: dict[str, Any], *, timestamp: int | None = None) -> Any:
        body = interactive_body(payload)
        headers = sign(body, TOKENS["SLACK_SIGNING_SECRET"], timestamp or int(time.time()))
        return post_to_bot(f"{self.bot.url}/slack/events", body, headers)

    def click(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = ANA,
        team: str = "T111",
        action_ts: str | None = None,
    ) -> tuple[Any, str]:
        card = self.card()
        action = action_for(
            card.blocks, action_id, value=value, action_ts=action_ts or f"{time.time():.6f}"
        )
        response_url = self.slack.new_response_url(channel=CHANNEL, message_ts=card.ts)
        payload = block_actions(user, team, CHANNEL, card.as_slack(), action, response_url)
        return self.send(payload), response_url

    def puts(self) -> list[Any]:
        return self.sentry.requests_matching("PUT", f"/issues/{self.issue['id']}/")

    def wait_card(self, predicate: Any, timeout: float = 10.0) -> Any:
        self.slack.wait_for(lambda: predicate(json.dumps(self.card().blocks)), timeout)
        return self.card()

    def ephemeral_for(self, response_url: str) -> list[str]:
        return [
            p.body.get("text", "") for p in self.slack.response_posts() if p.url == response_url
        ]


def option_value(blocks: list[dict[str, Any]], action_id: str, label: str) -> str:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                for option in element.get("options", []):
                    if option["text"]["text"] == label:
                        return str(option["value"])
    raise KeyError(label)
