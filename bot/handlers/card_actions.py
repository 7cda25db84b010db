"""Listeners for the card's controls: acknowledged first, whatever follows."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.handlers import HandlerContext
from bot.slack import actions


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    @app.action(actions.ISSUE_OPEN)
    async def open_in_sentry(ack: AsyncAck) -> None:
        # A link button still sends block_actions; Slack opens the URL itself.
        await ack()

    @app.action(re.compile(r"^issue\."))
    async def card_control(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
