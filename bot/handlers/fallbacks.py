"""Answers for what no other listener takes, and the global error handler: every request gets one.

A signed, readable request the app cannot act on (a control of an old or newer card, a menu or
dialog it no longer knows, a payload type it does not handle) is acknowledged at once with 200 and
a short explanation: in the acknowledgement where Slack shows it (a slash command's message, a
modal's update), otherwise ephemerally through the request's `response_url`. Without these, Bolt
answers 404 and Slack shows the person a generic failure (bolt-python `slack_bolt/app/async_app.py`
`async_dispatch`, `raise_error_for_unhandled_request`).

The catch-all listeners are registered after every other listener, as Bolt runs the first one that
matches. A request no listener kind covers reaches the error handler as `BoltUnhandledRequestError`
(the app is built with `raise_error_for_unhandled_request=True`); any exception that escapes a
listener reaches it too, and is logged with its traceback, and the person is told.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Final

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.handlers.answered import FAILED, answered, tell
from bot.sentry.ids import IssueId
from bot.slack.actions import ActionValue, ActionValueError, issue_id_from_block_id
from bot.slack.dialogs import notice_view

logger = logging.getLogger(__name__)

ANYTHING: Final = re.compile("")

UNKNOWN_CONTROL: Final = (
    "This button or menu is not one this version of the app knows (the message may come from "
    "an older or newer version), so nothing was changed. {hint}"
)
UNKNOWN_DIALOG: Final = (
    "This dialog comes from another version of the app and cannot be read, so nothing was "
    "changed. Close it and start again."
)
UNKNOWN_REQUEST: Final = "This app does not handle that kind of request, so nothing was changed."
UNKNOWN_COMMAND: Final = "This app only answers /sentry. Try /sentry help."


def issue_hint(action: dict[str, Any]) -> str:
    """`To act on the issue, use /sentry issue 123.`, with the issue when the control names one
    (its card block_id or its value), else with a placeholder."""
    issue_id: IssueId | None = None
    try:
        issue_id = issue_id_from_block_id(action.get("block_id"))
    except ActionValueError:
        option = action.get("selected_option")
        value = option.get("value") if isinstance(option, dict) else action.get("value")
        try:
            issue_id = ActionValue.decode(value).issue_id
        except ActionValueError:
            issue_id = None
    return f"To act on the issue, use /sentry issue {issue_id or '<id>'}."


class Fallbacks:
    """The catch-all listeners and the error handler; keeps its background replies alive."""

    def __init__(self) -> None:
        self._replies: set[asyncio.Task[None]] = set()

    def register(self, app: AsyncApp) -> None:
        app.action(ANYTHING)(answered(self.unknown_control))
        app.options(ANYTHING)(answered(self.unknown_options))
        app.view(ANYTHING)(answered(self.unknown_view))
        app.command(ANYTHING)(answered(self.unknown_command))
        app.error(self.on_error)

    async def unknown_control(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        logger.info("a control this version does not know was used: %.60r", action.get("action_id"))
        await tell(respond, body, UNKNOWN_CONTROL.format(hint=issue_hint(action)))

    async def unknown_options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        # An options request cannot carry a message; an empty list shows "No results".
        await ack(options=[])
        logger.info("options were asked for a menu this version does not know")

    async def unknown_view(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack(response_action="update", view=notice_view(UNKNOWN_DIALOG))
        logger.info(
            "a dialog this version does not know was submitted: %.60r", view.get("callback_id")
        )

    async def unknown_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(text=UNKNOWN_COMMAND, response_type="ephemeral")
        logger.info("a slash command this app does not answer: %.40r", command.get("command"))

    async def on_error(
        self, error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        """Unhandled kinds get 200 and a word. Anything else that reaches here failed outside a
        listener (listeners are `answered`): it is logged and the person told."""
        if isinstance(error, BoltUnhandledRequestError):
            logger.info("a request of a kind this app does not handle: %.40r", body.get("type"))
            message = UNKNOWN_REQUEST
        else:
            logger.error("handling a Slack request failed", exc_info=error)
            message = FAILED
        if response is None:
            # Already acknowledged by the listener: only the person is left to tell.
            self._tell(body, message)
            return None
        return BoltResponse(status=200, body=self._ack_body(body, message))

    def _ack_body(self, body: dict[str, Any], message: str) -> dict[str, Any] | str:
        """What the acknowledgement carries so that the person sees `message` where possible."""
        kind = body.get("type")
        if "command" in body and kind is None:
            return {"response_type": "ephemeral", "text": message}
        if kind == "block_suggestion":
            return {"options": []}
        if kind == "view_submission":
            return {"response_action": "update", "view": notice_view(message)}
        self._tell(body, message)
        return ""

    def _tell(self, body: dict[str, Any], message: str) -> None:
        """An ephemeral reply through the request's response_url, sent after the ack (which is
        the error handler's return value, so the reply runs as its own task)."""
        url = body.get("response_url")
        if not isinstance(url, str):
            return
        task = asyncio.get_running_loop().create_task(
            tell(AsyncRespond(response_url=url), body, message)
        )
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)
