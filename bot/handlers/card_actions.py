"""Listeners for the card's controls. Each acknowledges first, then does the work.

A click is applied through the triage service (identity, permission, Sentry, the
card re-rendered); problems come back to the clicker as an ephemeral message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers import HandlerContext
from bot.slack import actions
from bot.slack.actions import ActionValue, ActionValueError, issue_id_from_block_id
from bot.slack.dialogs import (
    COUNT_BLOCK,
    IGNORE_COUNT_CALLBACK,
    IgnoreCountRequest,
    build_ignore_count_modal,
    read_ignore_count,
)
from bot.slack.escape import plain
from bot.triage.identity import Identity
from bot.triage.operations import Ignore, Operation, from_action
from bot.triage.service import TriageResult

logger = logging.getLogger(__name__)

STALE_CONTROL = (
    "This control could not be read (the card may come from another version of the app). "
    "Use /sentry instead, or open the issue in Sentry."
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


def selected_value(action: dict[str, Any]) -> str:
    option = action.get("selected_option") or {}
    return str(option.get("value") or action.get("value") or "")


def result_message(result: TriageResult) -> str | None:
    """What the clicker is told; None when the updated card says it all."""
    if result.refused:
        return result.refused
    if result.failed:
        return "\n".join(result.failed.values())
    return None


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    @app.action(actions.ISSUE_OPEN)
    async def open_in_sentry(ack: AsyncAck) -> None:
        # A link button still sends block_actions; Slack opens the URL itself.
        await ack()

    async def triage_click(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        user = body.get("user") or {}
        try:
            value = ActionValue.decode(selected_value(action))
        except ActionValueError:
            await respond(text=STALE_CONTROL, response_type="ephemeral", replace_original=False)
            return

        def operation(who: Identity) -> Operation:
            op = from_action(value.op, value.arg, me=who.actor)
            assert op is not None
            return op

        try:
            if value.op == actions.OP_IGNORE and value.arg in (
                actions.IGNORE_EVENTS,
                actions.IGNORE_USERS,
            ):
                await open_ignore_count_dialog(body, value, client)
                return
            result = await ctx.triage.apply(
                slack_user=str(user.get("id", "")),
                slack_team=str(user.get("team_id") or (body.get("team") or {}).get("id", "")),
                issue_ids=[value.issue_id],
                operation=operation,
                source="card",
                request_key=request_key(body, action),
            )
        except Exception:
            logger.exception("triage from a card failed")
            await respond(
                text="Something went wrong applying that; nothing may have changed. "
                "Please try again.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        message = result_message(result)
        if message:
            await respond(text=message, response_type="ephemeral", replace_original=False)

    for action_id in (
        actions.ISSUE_RESOLVE,
        actions.ISSUE_IGNORE,
        actions.ISSUE_ASSIGN,
        actions.ISSUE_UNRESOLVE,
    ):
        app.action(action_id)(triage_click)

    async def open_ignore_count_dialog(
        body: dict[str, Any], value: ActionValue, client: AsyncWebClient
    ) -> None:
        container = body.get("container") or {}
        request = IgnoreCountRequest(
            issue_id=value.issue_id,
            mode=value.arg,
            channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id", "")),
            message_ts=str(container.get("message_ts", "")),
        )
        await client.views_open(
            trigger_id=body["trigger_id"], view=build_ignore_count_modal(request)
        )

    @app.view(IGNORE_COUNT_CALLBACK)
    async def ignore_count_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        count, window, error = read_ignore_count(view.get("state") or {})
        if error is not None or count is None:
            await ack(response_action="errors", errors={COUNT_BLOCK: error or "Enter a number."})
            return
        await ack()
        request = IgnoreCountRequest.decode(str(view.get("private_metadata") or "{}"))
        user = body.get("user") or {}
        amount = count

        def operation(_who: Identity) -> Operation:
            return Ignore(request.mode, amount, window)  # type: ignore[arg-type]

        result = await ctx.triage.apply(
            slack_user=str(user.get("id", "")),
            slack_team=str(user.get("team_id", "")),
            issue_ids=[request.issue_id],
            operation=operation,
            source="card",
            request_key=f"{user.get('id', '')}:{view.get('id', '')}:{view.get('hash', '')}",
        )
        message = result_message(result)
        if message and request.channel:
            await client.chat_postEphemeral(
                channel=request.channel, user=str(user.get("id", "")), text=message
            )

    @app.options(actions.ISSUE_ASSIGN)
    async def assign_options(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")
        try:
            issue_id = issue_id_from_block_id(body.get("block_id"))
        except ValueError:
            await ack(options=[])
            return
        options: list[dict[str, Any]] = []
        for arg, label in ((actions.ASSIGN_ME, "Me"), (actions.ASSIGN_NONE, "Nobody (unassign)")):
            if not query or label.lower().startswith(query.lower().strip()):
                options.append(_option(label, ActionValue(issue_id, actions.OP_ASSIGN, arg)))
        try:
            found = await ctx.triage.directory.search(query, limit=100 - len(options))
        except Exception:
            logger.exception("cannot load Sentry members for the assign menu")
            found = []
        for item in found:
            label = f"{item.label} ({item.detail})" if item.detail else item.label
            options.append(_option(label, ActionValue(issue_id, actions.OP_ASSIGN, item.actor)))
        await ack(options=options[:100])


def _option(label: str, value: ActionValue) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": plain(label, 75)}, "value": value.encode()}
