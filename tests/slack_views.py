"""What the fake Slack and the bot show after a step: top-level messages, the cards and storm
summaries that name an issue, and the bot's `/healthz`.

Shared by the in-process tests (`tests/usecases/`) and the end-to-end ones (`tests/e2e/`).
"""

from __future__ import annotations

import httpx

from tests.command_flows import ReachableBot
from tests.e2e.conftest import CHANNEL
from tests.fakes.slack_server import FakeSlack


def top_level(slack: FakeSlack, channel: str = CHANNEL) -> list[object]:
    """Messages of the channel, not replies in a thread."""
    return [m for m in slack.messages(channel) if m.thread_ts is None]


def cards_for(slack: FakeSlack, issue_id: str, channel: str = CHANNEL) -> list[object]:
    """The cards of one issue (messages whose metadata names it as their issue)."""
    return [
        m
        for m in slack.messages(channel)
        if (m.metadata or {}).get("event_payload", {}).get("issue_id") == issue_id
    ]


def cards(slack: FakeSlack, issue_id: str, channel: str = CHANNEL) -> list[object]:
    """Messages that reference an issue: its card, or a storm summary that lists it."""
    return [
        m
        for m in slack.messages(channel)
        if issue_id
        in str((m.metadata or {}).get("event_payload", {}).get("issue_id", ""))
        + ","
        + str((m.metadata or {}).get("event_payload", {}).get("issue_ids", ""))
    ]


def health(bot: ReachableBot) -> dict[str, object]:
    """The bot's `/healthz` answer, which must be 200."""
    response = httpx.get(f"{bot.url}/healthz", timeout=5)
    assert response.status_code == 200
    data: dict[str, object] = response.json()
    return data
