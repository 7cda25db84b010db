"""Listeners of `/sentry` and of its replies' controls. Each acknowledges first, then works.

Slack wants an answer within 3 seconds (Slack docs: slash commands, "Responding to commands"), and
Sentry may take longer, so the command is acknowledged empty at once and the reply goes through
`response_url`: ephemeral for the person who asked; "Share in channel" re-runs the query and posts
the answer `in_channel`; "More" replaces the ephemeral list with the next page. `delete` opens a
dialog with the command's trigger_id, and its submission deletes the issue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.context import Invocation, Reply, Services
from bot.commands.runner import CommandRunner
from bot.commands.triage import confirm_delete
from bot.handlers import HandlerContext
from bot.handlers.answered import answered
from bot.handlers.payloads import link_opened, user_and_team
from bot.slack.dialogs import DeleteRequest, DialogMetadataError, notice_view
from bot.slack.replies.links import SentryLinks
from bot.slack.reply_actions import (
    DELETE_CONFIRM_CALLBACK,
    ISSUES_MORE,
    REPLY_OPEN,
    REPLY_SHARE,
    QueryRef,
    QueryRefError,
)

logger = logging.getLogger(__name__)

FAILED = (
    "Something went wrong running that command; nothing may have changed. "
    "Please try again in a moment."
)
STALE_BUTTON = "This button could not be read (it may come from another version of the app)."
NO_DIALOG = "The confirmation dialog could not be opened in time. Please run the command again."
STALE_DIALOG = (
    "This dialog could not be read (it may come from another version of the app), so nothing "
    "was deleted. Run /sentry delete again."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _channel(body: dict[str, Any]) -> str:
    container = body.get("container") or {}
    channel = body.get("channel")
    return str(
        container.get("channel_id")
        or (channel.get("id") if isinstance(channel, dict) else channel)
        or ""
    )


def build_runner(ctx: HandlerContext) -> CommandRunner:
    return CommandRunner(
        Services(
            sentry=ctx.sentry,
            triage=ctx.triage,
            routes=ctx.routes,
            links=SentryLinks(web_base=ctx.sentry.web_base, org=ctx.sentry.org),
            digests=ctx.digests,
            clock=utc_now,
            routing=ctx.routing,
        )
    )


@dataclass(frozen=True, slots=True)
class CommandListeners:
    """The listeners of `/sentry`, of its replies' buttons and of its delete dialog, answering
    through one command runner."""

    runner: CommandRunner

    async def sentry_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        invocation = Invocation(
            user_id=str(command.get("user_id") or ""),
            team_id=str(command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            text=str(command.get("text") or ""),
            trigger_id=str(command.get("trigger_id") or ""),
        )
        try:
            reply = await self.runner.run_text(invocation)
            await deliver(reply, invocation, respond, client)
        except Exception:
            logger.exception("/sentry %s failed", invocation.text.split(" ", 1)[0] or "help")
            await respond(text=FAILED, response_type="ephemeral")

    async def share_reply(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not isinstance(body.get("response_url"), str):
            return  # not on a message (these controls only ever are): no one to answer
        try:
            reply = await self._rerun(body, action, shared=True)
            if reply is None:
                await respond(text=STALE_BUTTON, response_type="ephemeral", replace_original=False)
            elif reply.answer and reply.message is not None:
                await respond(**reply.message, response_type="in_channel", replace_original=False)
            elif reply.message is not None:
                await respond(**reply.message, response_type="ephemeral", replace_original=False)
        except Exception:
            logger.exception("sharing a /sentry answer failed")
            await respond(text=FAILED, response_type="ephemeral", replace_original=False)

    async def more_issues(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not isinstance(body.get("response_url"), str):
            return  # not on a message (these controls only ever are): no one to answer
        try:
            reply = await self._rerun(body, action, shared=False)
            if reply is None:
                await respond(text=STALE_BUTTON, response_type="ephemeral", replace_original=False)
            elif reply.message is not None:
                await respond(**reply.message, response_type="ephemeral", replace_original=True)
        except Exception:
            logger.exception("the next page of /sentry issues failed")
            await respond(text=FAILED, response_type="ephemeral", replace_original=False)

    async def delete_confirmed(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        try:
            request = DeleteRequest.decode(view.get("private_metadata"))
        except DialogMetadataError as exc:
            await ack(response_action="update", view=notice_view(STALE_DIALOG))
            logger.info("a delete dialog could not be read: %s", exc)
            return
        await ack()
        user, team = user_and_team(body)
        try:
            reply = await confirm_delete(
                request,
                user_id=user,
                team_id=team,
                request_key=f"{user}:{view.get('id', '')}:{view.get('hash', '')}",
                services=self.runner.services,
            )
        except Exception:
            logger.exception("deleting issue %s failed", request.issue_id)
            reply = Reply({"text": FAILED})
        if reply is not None and reply.message is not None:
            await tell(client, request.channel, user, reply.message)

    async def _rerun(
        self, body: dict[str, Any], action: dict[str, Any], *, shared: bool
    ) -> Reply | None:
        try:
            query = QueryRef.decode(action.get("value"))
        except QueryRefError:
            return None
        user, team = user_and_team(body)
        invocation = Invocation(
            user_id=user,
            team_id=team,
            channel_id=_channel(body),
            text=query.text,
            cursor=query.cursor,
            offset=query.offset,
            shared=shared,
        )
        return await self.runner.run_text(invocation)


async def deliver(
    reply: Reply, invocation: Invocation, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    if reply.modal is not None:
        try:
            await client.views_open(trigger_id=invocation.trigger_id, view=reply.modal)
        except SlackApiError as exc:
            logger.warning("views.open failed: %s", exc.response.get("error"))
            await respond(text=NO_DIALOG, response_type="ephemeral")
    if reply.message is not None:
        await respond(**reply.message, response_type="ephemeral")


async def tell(client: AsyncWebClient, channel: str, user: str, message: dict[str, Any]) -> None:
    """An ephemeral message in the channel of the command, or a direct message when the bot
    cannot post there (a DM between two people, a channel it is not in)."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, **message)
    except SlackApiError as exc:
        logger.info("ephemeral reply failed (%s); sending a DM", exc.response.get("error"))
    else:
        return
    try:
        await client.chat_postMessage(channel=user, **message)
    except SlackApiError as exc:
        logger.warning("could not tell %s the outcome: %s", user, exc.response.get("error"))


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    listeners = CommandListeners(build_runner(ctx))
    app.command("/sentry")(answered(listeners.sentry_command))
    app.action(REPLY_SHARE)(answered(listeners.share_reply))
    app.action(ISSUES_MORE)(answered(listeners.more_issues))
    app.action(REPLY_OPEN)(answered(link_opened))
    app.view(DELETE_CONFIRM_CALLBACK)(answered(listeners.delete_confirmed))
