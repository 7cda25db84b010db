"""What the listeners read from Slack's interaction payloads, and what they tell a clicker.

Shared by every listener of a triage control (card, digest line, Home tab) and of the forms, so a
click is keyed, read and answered the same way wherever it comes from. Pure functions of the
payload; the one listener here, `link_opened`, only acknowledges.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.triage.service import TriageResult

STALE_CONTROL = (
    "This control could not be read (the card may come from another version of the app), so "
    "nothing was changed. Use /sentry instead, or open the issue in Sentry."
)


def request_key(body: dict[str, Any], action: dict[str, Any]) -> str:
    """One click, however many times Slack delivers it."""
    container = body.get("container") or {}
    return ":".join(
        str(part)
        for part in (
            (body.get("user") or {}).get("id", ""),
            container.get("message_ts") or container.get("view_id", ""),
            action.get("action_id", ""),
            action.get("action_ts", ""),
        )
    )


def selected_value(action: dict[str, Any]) -> object:
    """The value of the option chosen, or of the button; None when there is neither."""
    option = action.get("selected_option")
    if isinstance(option, dict) and "value" in option:
        return option["value"]
    return action.get("value")


def user_and_team(body: dict[str, Any]) -> tuple[str, str]:
    """The Slack user and workspace of an interaction; empty strings where the payload has none."""
    user = body.get("user")
    user = user if isinstance(user, dict) else {}
    team = body.get("team")
    team_id = user.get("team_id") or (team.get("id") if isinstance(team, dict) else team)
    return str(user.get("id") or ""), str(team_id or "")


def result_message(result: TriageResult) -> str | None:
    """What the clicker is told; None when the updated card says it all."""
    if result.refused:
        return result.refused
    if result.failed:
        return "\n".join(result.failed.values())
    return None


async def link_opened(ack: AsyncAck) -> None:
    """A link button ("Open in Sentry") still sends block_actions; Slack opens the URL itself."""
    await ack()
