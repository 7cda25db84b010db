"""Listeners for "Send to Sentry": the message shortcut, its issue picker and the picker's search.

The shortcut (`message_action`, callback_id `message.to_sentry`, Slack docs: message shortcuts)
is acknowledged first. A member's message in a card's thread goes to that card's issue at once;
elsewhere a modal asks which issue (`views.open` with the shortcut's `trigger_id`, valid for
3 seconds). Every outcome is told to the person alone (ephemeral through the shortcut's
`response_url`, or the modal's answer), and nothing is sent without the person asking.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.send import NotSent, SendToSentry, Sent, ShortcutMessage
from bot.handlers import HandlerContext
from bot.handlers.answered import answered
from bot.handlers.payloads import user_and_team
from bot.sentry.ids import IssueId
from bot.slack.comments import (
    PICK_ISSUE_ACTION,
    PICK_ISSUE_BLOCK,
    PICK_VIEW,
    SEND_CALLBACK,
    TYPED_ISSUE_ACTION,
    TYPED_ISSUE_BLOCK,
    PickMetadataError,
    build_issue_picker,
    decode_pick,
    issue_option,
)
from bot.slack.dialogs import notice_view
from bot.triage.identity import Identity, Refusal

logger = logging.getLogger(__name__)

OPTIONS_BUDGET = 2.0  # seconds for the issue search, within Slack's 3-second acknowledgement
# The membership check may take this long before the picker opens regardless (a `trigger_id`
# is valid for 3 seconds, bolt-python `app.py`).
PICKER_CHECK_BUDGET = 1.5
SUBMIT_BUDGET = 2.5  # seconds to send from the picker and answer in its acknowledgement
MAX_QUERY = 200
NO_PICK = "Pick an issue, or type its short ID or link."
STALE = "This dialog could not be read (it may come from another version of the app)."
SLOW = "Sentry did not answer in time; it may not have been sent. Send it again to be sure."


def shortcut_message(body: dict[str, Any]) -> ShortcutMessage:
    """The message of a `message_action` payload (Slack docs: message shortcut payload)."""
    raw_message, raw_channel = body.get("message"), body.get("channel")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    channel: dict[str, Any] = raw_channel if isinstance(raw_channel, dict) else {}
    thread_ts = message.get("thread_ts")
    return ShortcutMessage(
        channel=str(channel.get("id") or ""),
        channel_name=str(channel.get("name") or ""),
        ts=str(message.get("ts") or body.get("message_ts") or ""),
        thread_ts=str(thread_ts) if thread_ts else None,
        text=str(message.get("text") or ""),
        author=str(message["user"]) if message.get("user") else None,
        author_name=str(message.get("username") or ""),
    )


async def checked_in_time(checking: asyncio.Future[Identity | Refusal]) -> bool:
    """Whether the membership check ended within the picker's budget; if not it goes on, and
    its outcome (or failure) is only logged."""
    done, _ = await asyncio.wait({checking}, timeout=PICKER_CHECK_BUDGET)
    if not done:
        checking.add_done_callback(_log_failure)
    return bool(done)


def _log_failure(checking: asyncio.Future[Identity | Refusal]) -> None:
    if not checking.cancelled() and checking.exception() is not None:
        logger.warning("membership check failed: %s", checking.exception())


def confirmation(outcome: Sent, short_id: str = "") -> str:
    what = f"issue {short_id}" if short_id else "the issue of this thread's card"
    if outcome.again:
        return f"This message was already sent to Sentry as a comment on {what}."
    return f"Sent to Sentry as a comment on {what}."


@dataclass(frozen=True, slots=True)
class ShortcutListeners:
    """The listeners of "Send to Sentry": the shortcut, the picker's search and its submission,
    sending through `send`."""

    send: SendToSentry

    async def send_to_sentry(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        slack_user, slack_team = user_and_team(body)
        message = shortcut_message(body)
        checking = asyncio.ensure_future(
            self.send.member(slack_user=slack_user, slack_team=slack_team)
        )
        issue_id = await self.send.card_issue(message)
        if issue_id is None and not await checked_in_time(checking):
            # The trigger_id expires 3 s after the click: the picker opens now, and the
            # submission checks membership again (from the warm cache).
            await open_picker(client, body, message)
            return
        who = await checking
        if isinstance(who, Refusal):
            await respond(text=who.reason, response_type="ephemeral", replace_original=False)
            return
        if issue_id is None:
            await open_picker(client, body, message)
            return
        outcome = await self.send.send(who=who, message=message, issue_id=issue_id)
        text = outcome.reason if isinstance(outcome, NotSent) else confirmation(outcome)
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def issue_options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        typed = str(body.get("value") or "")[:MAX_QUERY]
        try:
            found = await asyncio.wait_for(self.send.search(typed), OPTIONS_BUDGET)
        except Exception:
            logger.exception("cannot search Sentry issues for the Send to Sentry picker")
            found = []
        await ack(
            options=[
                issue_option(issue_id=i.id, short_id=i.short_id, title=i.title) for i in found
            ][:100]
        )

    async def issue_picked(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            picked = decode_pick(view.get("private_metadata"))
        except PickMetadataError as exc:
            logger.info("a Send to Sentry picker could not be read: %s", exc)
            await ack(response_action="update", view=notice_view(STALE))
            return
        values = (view.get("state") or {}).get("values") or {}
        chosen = ((values.get(PICK_ISSUE_BLOCK) or {}).get(PICK_ISSUE_ACTION) or {}).get(
            "selected_option"
        ) or {}
        typed = ((values.get(TYPED_ISSUE_BLOCK) or {}).get(TYPED_ISSUE_ACTION) or {}).get("value")
        issue_id = IssueId.parse(chosen.get("value")) if isinstance(chosen, dict) else None
        label = (chosen.get("text") or {}).get("text") if isinstance(chosen, dict) else None
        picked_label = label if isinstance(label, str) and issue_id is not None else ""
        if issue_id is None and not (isinstance(typed, str) and typed.strip()):
            await ack(response_action="errors", errors={PICK_ISSUE_BLOCK: NO_PICK})
            return
        slack_user, slack_team = user_and_team(body)
        message = ShortcutMessage(
            channel=picked["channel"] or "",
            channel_name=picked["channel_name"] or "",
            ts=picked["ts"] or "",
            thread_ts=picked["thread_ts"],
            text=picked["text"] or "",
            author=picked["author"],
            author_name=picked["author_name"] or "",
        )

        async def deliver() -> tuple[str, str | None]:
            """(answer, block with the problem or None)."""
            who = await self.send.member(slack_user=slack_user, slack_team=slack_team)
            if isinstance(who, Refusal):
                return who.reason, None
            target = issue_id
            short_id = picked_label.split(" ", 1)[0]
            if target is None:
                found = await self.send.find(str(typed))
                if isinstance(found, NotSent):
                    return found.reason, TYPED_ISSUE_BLOCK
                target, short_id = found.id, found.short_id
            outcome = await self.send.send(who=who, message=message, issue_id=target)
            if isinstance(outcome, NotSent):
                return outcome.reason, None
            return confirmation(outcome, short_id), None

        try:
            answer, block = await asyncio.wait_for(deliver(), SUBMIT_BUDGET)
        except TimeoutError:
            answer, block = SLOW, None
        if block is not None:
            await ack(response_action="errors", errors={block: answer})
        else:
            await ack(response_action="update", view=notice_view(answer, title="Send to Sentry"))


async def open_picker(
    client: AsyncWebClient, body: dict[str, Any], message: ShortcutMessage
) -> None:
    view = build_issue_picker(
        {
            "channel": message.channel,
            "channel_name": message.channel_name,
            "ts": message.ts,
            "thread_ts": message.thread_ts,
            "text": message.text,
            "author": message.author,
            "author_name": message.author_name,
        }
    )
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
    except SlackApiError as exc:
        logger.warning("could not open the Send to Sentry picker: %s", exc.response.get("error"))


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    if ctx.send_to_sentry is None:
        return
    listeners = ShortcutListeners(ctx.send_to_sentry)
    app.shortcut(SEND_CALLBACK)(answered(listeners.send_to_sentry))
    app.options(PICK_ISSUE_ACTION)(answered(listeners.issue_options))
    app.view(PICK_VIEW)(answered(listeners.issue_picked))
