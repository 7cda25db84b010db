"""Listeners of the Home tab: opening it, its buttons and menus, its modals, triage from it.

Thin adapters: each acknowledges (a modal's submission is acknowledged with its verdict, so
the checks with Sentry run first, within Slack's 3 seconds), then calls the Home and routing
use cases. A click in the tab carries no `response_url` (Slack docs: block_actions payload,
Home tab), so what the person needs to know is shown on the redrawn tab itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config_file import RouteSpec
from bot.handlers import HandlerContext
from bot.handlers.answered import answered
from bot.handlers.payloads import (
    request_key,
    result_message,
    selected_value,
    user_and_team,
)
from bot.home import modals
from bot.home import view as home_view
from bot.home.modals import ModalMetadataError, Target
from bot.home.service import HomeService
from bot.routing import DigestChange, FieldProblem, RoutingRefused, RoutingService
from bot.sentry.errors import SentryError
from bot.sentry.models import Issue
from bot.slack.actions import ActionValue, ActionValueError
from bot.slack.dialogs import IgnoreCountRequest, build_ignore_count_modal
from bot.slack.escape import plain
from bot.store.routes import Route
from bot.triage import vocabulary
from bot.triage.identity import Identity
from bot.triage.service import TriageService
from bot.triage.vocabulary import TriageAction

logger = logging.getLogger(__name__)

SUBMIT_BUDGET = 2.5  # seconds for the checks with Sentry, within Slack's 3-second acknowledgement
OPTIONS_BUDGET = 2.0
MAX_QUERY = 100

STALE_CONTROL = (
    "That control could not be read (it may come from another version of the app), so nothing "
    "was changed."
)
STALE_MODAL = "This form could not be read (it may come from another version of the app)."
FAILED = "Something went wrong; nothing may have changed. Please try again."
SLOW = "Sentry took too long to check this; please save again."
NO_MODAL = "The form could not be opened in time. Please use the button again."


async def redraw(
    home: HomeService,
    slack_user: str,
    slack_team: str,
    *,
    notice: str | None = None,
    changed: Sequence[Issue] = (),
) -> None:
    """Draw the person's tab again from fresh searches, `notice` at the top."""
    home.forget(slack_user)
    await home.show(slack_user=slack_user, slack_team=slack_team, notice=notice, changed=changed)


async def triage_click(
    triage: TriageService,
    home: HomeService,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
) -> None:
    """A card control clicked in the Home tab (already acknowledged): through the triage
    service like any card, then the tab is drawn again with the outcome."""
    slack_user, slack_team = user_and_team(body)
    try:
        value = ActionValue.decode(selected_value(action))
        if value.op not in vocabulary.VERBS:
            raise ActionValueError(f"{value.op!r} is not a triage action")
    except ActionValueError as exc:
        logger.info("a Home tab control could not be read: %s", exc)
        await redraw(home, slack_user, slack_team, notice=STALE_CONTROL)
        return
    choice = value.choice
    if choice is not None and choice.asks is not None:
        request = IgnoreCountRequest(
            issue_id=value.issue_id, mode=choice.asks, channel="", message_ts=""
        )
        try:
            await client.views_open(
                trigger_id=str(body.get("trigger_id") or ""),
                view=build_ignore_count_modal(request),
            )
        except SlackApiError as exc:
            logger.warning("views.open failed: %s", exc.response.get("error"))
            await redraw(home, slack_user, slack_team, notice=NO_MODAL)
        return

    def operation(who: Identity) -> TriageAction:
        chosen = value.action(me=who.actor)
        assert chosen is not None
        return chosen

    try:
        result = await triage.apply(
            slack_user=slack_user,
            slack_team=slack_team,
            issue_ids=[value.issue_id],
            operation=operation,
            source="home",
            request_key=request_key(body, action),
        )
    except Exception:
        logger.exception("triage from the Home tab failed")
        await redraw(home, slack_user, slack_team, notice=FAILED)
        return
    if result.duplicate:
        return
    await redraw(
        home, slack_user, slack_team, notice=result_message(result), changed=result.changed
    )


async def _open(client: AsyncWebClient, body: dict[str, Any], modal: dict[str, Any]) -> None:
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=modal)
    except SlackApiError as exc:
        logger.warning("views.open failed: %s", exc.response.get("error"))


def _row_text(route: Route) -> str:
    return home_view.route_text(
        home_view.RouteRow(
            id=route.id,
            channel=route.channel,
            projects=route.projects,
            query=route.query,
            environment=route.environment,
            mention=route.mention,
            editable=True,
        )
    )


async def _group_labels(routing: RoutingService, mention: Sequence[str]) -> dict[str, str]:
    groups = [m for m in mention if m.startswith("S")]
    if not groups or routing.groups is None:
        return {}
    try:
        return await asyncio.wait_for(routing.groups.labels(groups), OPTIONS_BUDGET)
    except Exception:
        logger.exception("cannot name the user groups of a route")
        return {}


@functools.cache
def _all_zones() -> tuple[str, ...]:
    """IANA zone names (read from the system's tz database once)."""
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def _zones(query: str) -> list[dict[str, Any]]:
    """Zones containing what the person typed, prefixes first, at most 100 (Slack docs:
    block_suggestion, "up to 100 options")."""
    text = query.strip().lower().replace(" ", "_")
    zones = _all_zones()
    first = [z for z in zones if z.lower().startswith(text)]
    then = [z for z in zones if text in z.lower() and z not in first]
    return [
        {"text": {"type": "plain_text", "text": zone[:75]}, "value": zone}
        for zone in (first + then)[:100]
        if len(zone) <= 75
    ]


@dataclass(frozen=True, slots=True)
class HomeListeners:
    """The listeners of the Home tab, drawing it through `home` and changing routes and digests
    through `routing`."""

    home: HomeService
    routing: RoutingService

    async def home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        # Events are acknowledged by Bolt before this runs.
        if event.get("tab") != "home":
            return
        slack_user = str(event.get("user") or "")
        team = str(body.get("team_id") or (event.get("view") or {}).get("team_id") or "")
        try:
            await self.home.show(slack_user=slack_user, slack_team=team)
        except Exception:
            logger.exception("the Home tab of %s could not be drawn", slack_user)

    async def refresh(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        slack_user, slack_team = user_and_team(body)
        await redraw(self.home, slack_user, slack_team)

    async def add_route(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if await self._member_or_explain(body, client) is not None:
            await _open(client, body, modals.route_modal(Target("route", None)))

    async def add_digest(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if await self._member_or_explain(body, client) is not None:
            await _open(client, body, modals.digest_modal(Target("digest", None)))

    async def _menu_choice(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, title: str
    ) -> tuple[str, int] | None:
        """What a route's or digest's menu asks (edit or remove, which one), from a member; a
        menu value that does not read, or someone not a member, is told why instead."""
        chosen = home_view.parse_menu_value((action.get("selected_option") or {}).get("value"))
        if chosen is None:
            await _open(client, body, modals.error_modal(title, STALE_CONTROL))
            return None
        if await self._member_or_explain(body, client) is None:
            return None
        return chosen

    async def route_menu(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        chosen = await self._menu_choice(body, action, client, "Route")
        if chosen is None:
            return
        verb, route_id = chosen
        try:
            route = await self.routing.editable_route(route_id)
        except RoutingRefused as exc:
            await _open(client, body, modals.error_modal("Route", exc.message))
            return
        target = Target("route", route.id)
        if verb == home_view.EDIT:
            modal = modals.route_modal(
                target,
                channel=route.channel,
                projects=route.projects,
                query=route.query,
                environment=route.environment,
                mention=route.mention,
                group_labels=await _group_labels(self.routing, route.mention),
            )
        else:
            modal = modals.remove_modal(target, _row_text(route))
        await _open(client, body, modal)

    async def digest_menu(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        chosen = await self._menu_choice(body, action, client, "Digest")
        if chosen is None:
            return
        verb, digest_id = chosen
        try:
            digest = await self.routing.editable_digest(digest_id)
        except RoutingRefused as exc:
            await _open(client, body, modals.error_modal("Digest", exc.message))
            return
        target = Target("digest", digest.id)
        if verb == home_view.EDIT:
            modal = modals.digest_modal(
                target,
                channel=digest.channel,
                projects=digest.projects,
                cron=digest.cron,
                timezone=digest.timezone,
            )
        else:
            row = home_view.DigestRow(
                digest.id, digest.channel, digest.cron, digest.timezone, digest.projects, True
            )
            modal = modals.remove_modal(target, home_view.digest_text(row))
        await _open(client, body, modal)

    async def project_options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")[:MAX_QUERY]
        try:
            slugs = await asyncio.wait_for(self.routing.project_slugs(query), OPTIONS_BUDGET)
        except Exception:
            logger.exception("cannot load Sentry projects for the project picker")
            slugs = []
        await ack(
            options=[
                {"text": {"type": "plain_text", "text": slug[:75]}, "value": slug}
                for slug in slugs[:100]
            ]
        )

    async def group_options(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")[:MAX_QUERY]
        found: list[dict[str, Any]] = []
        if self.routing.groups is not None:
            try:
                groups = await asyncio.wait_for(self.routing.groups.search(query), OPTIONS_BUDGET)
            except Exception:
                logger.exception("cannot load Slack user groups for the route form")
                groups = []
            found = [
                {"text": {"type": "plain_text", "text": plain(g.label, 75)}, "value": g.id}
                for g in groups[:100]
            ]
        await ack(options=found)

    async def route_saved(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        target = await submitted(ack, body, view, "route")
        if target is None:
            return
        form = modals.read_route(view.get("state"))
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        who = await self._member_for_modal(ack, body, modals.CHANNEL_BLOCK)
        if who is None:
            return
        try:
            spec = RouteSpec(
                channel=form.channel,
                projects=form.projects,
                query=form.query,
                environment=form.environment,
                mention=form.mention,
            )
            route = await asyncio.wait_for(
                self.routing.save_route(who, target.row_id, spec), SUBMIT_BUDGET
            )
        except FieldProblem as exc:
            await ack(response_action="errors", errors={exc.field: exc.message})
            return
        except RoutingRefused as exc:
            await ack(response_action="errors", errors={modals.CHANNEL_BLOCK: exc.message})
            return
        except SentryError as exc:
            message = f"Could not check this with Sentry: {exc}"
            await ack(response_action="errors", errors={modals.QUERY_BLOCK: message})
            return
        except TimeoutError:
            await ack(response_action="errors", errors={modals.QUERY_BLOCK: SLOW})
            return
        await ack()
        verb = "added" if target.row_id is None else "changed"
        await redraw(
            self.home,
            who.slack_user,
            who.slack_team,
            notice=f"Route {verb}: new issues matching it go to #{route.channel}.",
        )

    async def route_removed(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        target = await submitted(ack, body, view, "route")
        if target is None or target.row_id is None:
            return
        who = await self._member_for_modal(ack, body, None)
        if who is None:
            return
        try:
            await self.routing.remove_route(who, target.row_id)
        except RoutingRefused as exc:
            await refuse(ack, None, exc.message)
            return
        await ack()
        await redraw(self.home, who.slack_user, who.slack_team, notice="Route removed.")

    async def digest_saved(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        target = await submitted(ack, body, view, "digest")
        if target is None:
            return
        form = modals.read_digest(view.get("state"))
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        who = await self._member_for_modal(ack, body, modals.CHANNEL_BLOCK)
        if who is None:
            return
        change = DigestChange(form.channel, form.projects, form.cron, form.timezone)
        try:
            await asyncio.wait_for(
                self.routing.save_digest(who, target.row_id, change), SUBMIT_BUDGET
            )
        except FieldProblem as exc:
            await ack(response_action="errors", errors={exc.field: exc.message})
            return
        except RoutingRefused as exc:
            await ack(response_action="errors", errors={modals.CHANNEL_BLOCK: exc.message})
            return
        except SentryError as exc:
            message = f"Could not check this with Sentry: {exc}"
            await ack(response_action="errors", errors={modals.PROJECTS_BLOCK: message})
            return
        except TimeoutError:
            await ack(response_action="errors", errors={modals.PROJECTS_BLOCK: SLOW})
            return
        await ack()
        await redraw(self.home, who.slack_user, who.slack_team, notice="Digest scheduled.")

    async def digest_removed(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        target = await submitted(ack, body, view, "digest")
        if target is None or target.row_id is None:
            return
        who = await self._member_for_modal(ack, body, None)
        if who is None:
            return
        try:
            await self.routing.remove_digest(who, target.row_id)
        except RoutingRefused as exc:
            await refuse(ack, None, exc.message)
            return
        await ack()
        await redraw(self.home, who.slack_user, who.slack_team, notice="Digest removed.")

    async def _member_for_modal(
        self, ack: AsyncAck, body: dict[str, Any], block: str | None
    ) -> Identity | None:
        slack_user, slack_team = user_and_team(body)
        try:
            return await asyncio.wait_for(
                self.routing.member(slack_user=slack_user, slack_team=slack_team), SUBMIT_BUDGET
            )
        except RoutingRefused as exc:
            await refuse(ack, block, exc.message)
        except SentryError as exc:
            await refuse(ack, block, f"Sentry is unavailable: {exc}")
        except TimeoutError:
            await refuse(ack, block, SLOW)
        return None

    async def _member_or_explain(
        self, body: dict[str, Any], client: AsyncWebClient
    ) -> Identity | None:
        slack_user, slack_team = user_and_team(body)
        try:
            return await self.routing.member(slack_user=slack_user, slack_team=slack_team)
        except RoutingRefused as exc:
            await _open(client, body, modals.error_modal("Not allowed", exc.message))
        except SentryError as exc:
            await _open(client, body, modals.error_modal("Sentry is unavailable", str(exc)))
        return None


async def timezone_options(ack: AsyncAck, body: dict[str, Any]) -> None:
    await ack(options=_zones(str(body.get("value") or "")[:MAX_QUERY]))


async def submitted(
    ack: AsyncAck, body: dict[str, Any], view_: dict[str, Any], kind: str
) -> Target | None:
    try:
        target = Target.decode(view_.get("private_metadata"))
        if target.kind != kind:
            raise ModalMetadataError("another kind of form")
    except ModalMetadataError as exc:
        logger.info("a Home modal could not be read: %s", exc)
        await ack(response_action="errors", errors={modals.CHANNEL_BLOCK: STALE_MODAL})
        return None
    return target


async def refuse(ack: AsyncAck, block: str | None, message: str) -> None:
    """An error on the form's field, or (a form without inputs) the form replaced by the
    explanation: Slack shows `errors` on input blocks only (Slack docs: modals,
    "Displaying errors in views")."""
    if block is None:
        await ack(response_action="update", view=modals.error_modal("Not done", message))
    else:
        await ack(response_action="errors", errors={block: message})


def register(app: AsyncApp, ctx: HandlerContext) -> None:
    if ctx.home is None or ctx.routing is None:
        return
    listeners = HomeListeners(home=ctx.home, routing=ctx.routing)
    app.event("app_home_opened")(listeners.home_opened)
    app.action(home_view.REFRESH)(answered(listeners.refresh))
    app.action(home_view.ROUTE_ADD)(answered(listeners.add_route))
    app.action(home_view.DIGEST_ADD)(answered(listeners.add_digest))
    app.action(home_view.ROUTE_MENU)(answered(listeners.route_menu))
    app.action(home_view.DIGEST_MENU)(answered(listeners.digest_menu))
    app.options(modals.PROJECTS_PICKER)(answered(listeners.project_options))
    app.options(modals.GROUPS_PICKER)(answered(listeners.group_options))
    app.options(modals.TIMEZONE_PICKER)(answered(timezone_options))
    app.view(modals.ROUTE_SAVE)(answered(listeners.route_saved))
    app.view(modals.ROUTE_REMOVE)(answered(listeners.route_removed))
    app.view(modals.DIGEST_SAVE)(answered(listeners.digest_saved))
    app.view(modals.DIGEST_REMOVE)(answered(listeners.digest_removed))
