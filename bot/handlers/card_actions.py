"""Listeners for the card's controls. Each acknowledges first, then does the work.

A click is applied through the triage service (identity, permission, Sentry, the
card re-rendered); problems come back to the clicker as an ephemeral message. What a control or
dialog carries is decoded before anything else (`ActionValue`, `IgnoreCountRequest`), so only an
`IssueId` reaches the triage service; a value or private_metadata that does not decode gets an
explanation and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.handlers import HandlerContext, home, unfurls
from bot.handlers.answered import answered
from bot.handlers.payloads import (
    STALE_CONTROL,
    link_opened,
    request_key,
    result_message,
    selected_value,
    user_and_team,
)
from bot.home.service import HomeService
from bot.sentry.ids import IssueId
from bot.slack import actions
from bot.slack.actions import ActionValue, ActionValueError, issue_id_from_block_id
from bot.slack.dialogs import (
    COUNT_BLOCK,
    IGNORE_COUNT_CALLBACK,
    DialogMetadataError,
    IgnoreCountRequest,
    build_ignore_count_modal,
    read_ignore_count,
)
from bot.slack.escape import plain
from bot.triage import vocabulary
from bot.triage.identity import Identity
from bot.triage.service import TriageService
from bot.triage.vocabulary import CountMode, Ignore, TriageAction
from bot.unfurls.service import Unfurler

logger = logging.getLogger(__name__)

OPTIONS_BUDGET = 2.0  # seconds for the member search, within Slack's 3-second acknowledgement
MAX_QUERY = 100  # what a person types into the assign menu before Slack asks for options

STALE_DIALOG = (
    "This dialog could not be read (it may come from another version of the app), so nothing "
    "was changed. Close it and use the card again."
)
NO_DIALOG = "The dialog could not be opened in time. Please use the control again."
FAILED = "Something went wrong applying that; nothing may have changed. Please try again."


async def open_ignore_count_dialog(
    body: dict[str, Any], value: ActionValue, mode: CountMode, client: AsyncWebClient
) -> None:
    container = body.get("container") or {}
    channel = body.get("channel")
    unfurled = unfurls.unfurled_card(body)
    request = IgnoreCountRequest(
        issue_id=value.issue_id,
        mode=mode,
        channel=str(
            container.get("channel_id")
            or (channel.get("id") if isinstance(channel, dict) else channel)
            or ""
        ),
        message_ts=str(container.get("message_ts") or ""),
        unfurl_url=unfurled.url if unfurled else "",
    )
    await client.views_open(
        trigger_id=str(body.get("trigger_id") or ""), view=build_ignore_count_modal(request)
    )


@dataclass(frozen=True, slots=True)
class CardActions:
    """The listeners of the card's controls and of its ignore dialog, with the services they
    act through: triage, the unfurled cards to redraw, and the Home tab when there is one."""

    triage: TriageService
    unfurls: Unfurler | None
    home: HomeService | None

    async def triage_click(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        if (body.get("container") or {}).get("type") == "view" and self.home is not None:
            # A card in the Home tab: no response_url there; the tab is redrawn instead.
            await home.triage_click(self.triage, self.home, body, action, client)
            return
        if not isinstance(body.get("response_url"), str):
            return  # not on a message (these controls only ever are): no one to answer
        slack_user, slack_team = user_and_team(body)
        try:
            value = ActionValue.decode(selected_value(action))
            if value.op not in vocabulary.VERBS:
                raise ActionValueError(f"{value.op!r} is not a triage action")
        except ActionValueError as exc:
            logger.info("a card control could not be read: %s", exc)
            await respond(text=STALE_CONTROL, response_type="ephemeral", replace_original=False)
            return

        def operation(who: Identity) -> TriageAction:
            action = value.action(me=who.actor)
            assert action is not None
            return action

        try:
            choice = value.choice
            if choice is not None and choice.asks is not None:
                try:
                    await open_ignore_count_dialog(body, value, choice.asks, client)
                except SlackApiError as exc:
                    logger.warning("views.open failed: %s", exc.response.get("error"))
                    await respond(text=NO_DIALOG, response_type="ephemeral", replace_original=False)
                return
            result = await self.triage.apply(
                slack_user=slack_user,
                slack_team=slack_team,
                issue_ids=[value.issue_id],
                operation=operation,
                source="unfurl" if unfurls.unfurled_card(body) else "card",
                request_key=request_key(body, action),
            )
        except Exception:
            logger.exception("triage from a card failed")
            await respond(text=FAILED, response_type="ephemeral", replace_original=False)
            return
        message = result_message(result)
        if message:
            await respond(text=message, response_type="ephemeral", replace_original=False)
        # A card unfurled under someone's message is not a tracked card: redraw it here.
        await unfurls.redraw_after_triage(self.unfurls, unfurls.unfurled_card(body), result)

    async def ignore_count_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        # Both reads are pure and cannot fail: the acknowledgement carries their verdict.
        count, window, error = read_ignore_count(view.get("state"))
        try:
            request = IgnoreCountRequest.decode(view.get("private_metadata"))
        except DialogMetadataError as exc:
            await ack(response_action="errors", errors={COUNT_BLOCK: STALE_DIALOG})
            logger.info("an ignore dialog could not be read: %s", exc)
            return
        if error is not None or count is None:
            await ack(response_action="errors", errors={COUNT_BLOCK: error or "Enter a number."})
            return
        await ack()
        slack_user, slack_team = user_and_team(body)
        amount = count

        def operation(_who: Identity) -> TriageAction:
            return Ignore(request.mode, amount, window)

        try:
            result = await self.triage.apply(
                slack_user=slack_user,
                slack_team=slack_team,
                issue_ids=[request.issue_id],
                operation=operation,
                source="unfurl" if request.unfurl_url else "card",
                request_key=f"{slack_user}:{view.get('id', '')}:{view.get('hash', '')}",
            )
            message = result_message(result)
            if request.unfurl_url:
                unfurled = unfurls.UnfurledCard(
                    request.channel, request.message_ts, request.unfurl_url
                )
                await unfurls.redraw_after_triage(self.unfurls, unfurled, result)
        except Exception:
            logger.exception("ignoring from a dialog failed")
            message = FAILED
        if not request.channel and self.home is not None:
            # Opened from the Home tab: the tab shows the outcome.
            await home.redraw(self.home, slack_user, slack_team, notice=message)
            return
        if message and request.channel:
            try:
                await client.chat_postEphemeral(
                    channel=request.channel, user=slack_user, text=message
                )
            except SlackApiError as exc:
                logger.warning(
                    "could not tell %s the dialog's outcome: %s",
                    slack_user,
                    exc.response.get("error"),
                )

    async def assign_options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")[:MAX_QUERY]
        try:
            issue_id = issue_id_from_block_id(body.get("block_id"))
        except ActionValueError:
            await ack(options=[])
            return
        choices: list[tuple[str, str]] = [
            (row.label, row.word)
            for row in vocabulary.choices("assign")
            if not query or row.label.lower().startswith(query.lower().strip())
        ]
        try:
            # The options are the acknowledgement, due within Slack's 3 seconds.
            found = await asyncio.wait_for(
                self.triage.directory.search(query, limit=100 - len(choices)), OPTIONS_BUDGET
            )
        except Exception:
            logger.exception("cannot load Sentry members for the assign menu")
            found = []
        for item in found:
            label = f"{item.label} ({item.detail})" if item.detail else item.label
            choices.append((label, item.actor))
        await ack(options=_options(issue_id, choices)[:100])


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    listeners = CardActions(triage=ctx.triage, unfurls=ctx.unfurls, home=ctx.home)
    app.action(actions.ISSUE_OPEN)(answered(link_opened))
    for action_id in (
        actions.ISSUE_RESOLVE,
        actions.ISSUE_IGNORE,
        actions.ISSUE_ASSIGN,
        actions.ISSUE_UNRESOLVE,
    ):
        app.action(action_id)(answered(listeners.triage_click))
    app.view(IGNORE_COUNT_CALLBACK)(answered(listeners.ignore_count_submitted))
    app.options(actions.ISSUE_ASSIGN)(answered(listeners.assign_options))


def _options(issue_id: IssueId, choices: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Assign options; a member whose actor id would not fit a value is left out."""
    options: list[dict[str, Any]] = []
    for label, arg in choices:
        try:
            value = ActionValue(issue_id, actions.OP_ASSIGN, arg)
        except ActionValueError:
            continue
        options.append(
            {"text": {"type": "plain_text", "text": plain(label, 75)}, "value": value.encode()}
        )
    return options
