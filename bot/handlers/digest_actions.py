"""Listener for the overflow menu on a digest's issue lines: triage, then redraw that line only.

The click goes through the same triage service as the card's controls (identity by e-mail,
permission, Sentry update, action log, the issue's cards refreshed). The digest message is then
updated with `replace_issue_line`: the block of that issue is rebuilt from Sentry's new state and
every other block is sent back exactly as the message had it (chat.update replaces the whole
message, docs.slack.dev/reference/methods/chat.update).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.digests.builder import replace_issue_line
from bot.handlers import HandlerContext
from bot.handlers.answered import answered
from bot.handlers.payloads import (
    STALE_CONTROL,
    request_key,
    result_message,
    selected_value,
    user_and_team,
)
from bot.slack import actions
from bot.slack.actions import ActionValue
from bot.slack.notifier import Posted, SlackNotifier
from bot.triage.identity import Identity
from bot.triage.service import TriageService
from bot.triage.vocabulary import VERBS, TriageAction

logger = logging.getLogger(__name__)

FAILED = "Something went wrong applying that; nothing may have changed. Please try again."


@dataclass(frozen=True, slots=True)
class DigestActions:
    """The listener of a digest line's overflow menu, with what it triages and redraws through."""

    triage: TriageService
    notifier: SlackNotifier

    async def digest_triage(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not isinstance(body.get("response_url"), str):
            return  # not on a message (these controls only ever are): no one to answer
        slack_user, slack_team = user_and_team(body)
        try:
            value = ActionValue.decode(selected_value(action))
            operation_for = _operation(value)
        except ValueError as exc:
            logger.info("a digest option could not be read: %s", exc)
            await respond(text=STALE_CONTROL, response_type="ephemeral", replace_original=False)
            return
        try:
            result = await self.triage.apply(
                slack_user=slack_user,
                slack_team=slack_team,
                issue_ids=[value.issue_id],
                operation=operation_for,
                source="digest",
                request_key=request_key(body, action),
            )
        except Exception:
            logger.exception("triage from a digest failed")
            await respond(text=FAILED, response_type="ephemeral", replace_original=False)
            return
        message = result_message(result)
        if message:
            await respond(text=message, response_type="ephemeral", replace_original=False)
        original = body.get("message") or {}
        channel = _channel(body)
        ts = str(original.get("ts") or (body.get("container") or {}).get("message_ts") or "")
        if not channel or not ts:
            return
        try:
            for issue in result.changed:
                blocks = replace_issue_line(original.get("blocks") or [], issue)
                outcome = await self.notifier.update(
                    channel, ts, {"text": original.get("text") or "", "blocks": blocks}
                )
                if not isinstance(outcome, Posted):
                    logger.warning(
                        "could not redraw the digest line of issue %s: %s", issue.id, outcome
                    )
        except Exception:
            logger.exception("redrawing a digest line failed")


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    listeners = DigestActions(triage=ctx.triage, notifier=ctx.notifier)
    app.action(actions.DIGEST_TRIAGE)(answered(listeners.digest_triage))


def _channel(body: dict[str, Any]) -> str:
    container = body.get("container") or {}
    channel = body.get("channel")
    return str(
        (channel.get("id") if isinstance(channel, dict) else channel)
        or container.get("channel_id")
        or ""
    )


def _operation(value: ActionValue) -> Callable[[Identity], TriageAction]:
    """The triage action of a digest option (resolve now, ignore 24 h, assign to me,
    unresolve); ValueError for anything a digest line never offers."""
    if value.op not in VERBS:
        raise ValueError(f"not a digest option: {value.op}")

    def operation(who: Identity) -> TriageAction:
        action = value.action(me=who.actor)
        if action is None:
            raise ValueError(f"not a digest option: {value.op} {value.arg}")
        return action

    return operation
