"""`/sentry subscribe`, `unsubscribe`, `subscriptions` and `digest`: this channel's routing.

Routes made here live in the database next to the file's and start their watermark at creation
(README: Routes and digests file), so nothing older floods the channel. A project and a search
are checked against Sentry before they are stored, so a typo fails now rather than silently
never matching. Changes go through the routing use case the Home tab's forms use
(`bot.routing`): Sentry members only, each change in the action log.
"""

from __future__ import annotations

from bot.commands.context import CommandFailure, Invocation, Reply, Services
from bot.commands.lookup import all_projects, unknown_project
from bot.commands.model import (
    DigestNowCommand,
    DigestOffCommand,
    DigestScheduleCommand,
    DigestShowCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
)
from bot.config_file import DEFAULT_QUERY, RouteSpec
from bot.routing import DigestChange, FieldProblem, RoutingRefused, RoutingService
from bot.slack.replies.common import notice
from bot.slack.replies.subscriptions import (
    DigestView,
    RouteView,
    build_digest_list,
    build_digest_scheduled,
    build_subscribed,
    build_subscriptions,
    build_unsubscribed,
)
from bot.store.routes import Route
from bot.triage.identity import Identity

SOURCE = "command"  # how the action log names changes made with /sentry
NO_DIGESTS = "Digests are not available in this installation of the app."
DEFAULT_TIMEZONE = "UTC"


def route_view(route: Route) -> RouteView:
    return RouteView(
        projects=route.projects,
        query=route.query,
        environment=route.environment,
        source=route.source,
        watermark=route.watermark,
    )


def _channel(invocation: Invocation) -> str:
    """Routes post to channels (C…, G…); a direct message cannot hold a subscription."""
    if invocation.channel_id[:1] not in ("C", "G"):
        raise CommandFailure(
            "Subscriptions and digests belong to a channel: run this command in the channel "
            "that should receive them (and invite the app there)."
        )
    return invocation.channel_id


async def _member(invocation: Invocation, services: Services) -> tuple[RoutingService, Identity]:
    """The routing use case and the Sentry member running the command (`CommandFailure`
    with the reason for anyone else)."""
    if services.routing is None:
        raise CommandFailure("Routes cannot be changed in this installation of the app.")
    try:
        who = await services.routing.member(
            slack_user=invocation.user_id, slack_team=invocation.team_id
        )
    except RoutingRefused as exc:
        raise CommandFailure(exc.message) from exc
    return services.routing, who


async def subscribe(command: SubscribeCommand, invocation: Invocation, services: Services) -> Reply:
    channel = _channel(invocation)
    routing, who = await _member(invocation, services)
    query = command.query.strip() or DEFAULT_QUERY
    if not command.every_project:
        known = {str(p.slug): p for p in await all_projects(services)}
        if command.project not in known:
            raise CommandFailure(unknown_project(command.project, services.sentry.org, list(known)))
    spec = RouteSpec(
        channel=channel, projects=() if command.every_project else (command.project,), query=query
    )
    before = {r.id for r in await services.routes.all()}
    try:
        route = await routing.save_route(who, None, spec, source=SOURCE)
    except FieldProblem as exc:
        raise CommandFailure(exc.message.replace("this search", f"the search '{query}'")) from exc
    return Reply(build_subscribed(route_view(route), existed=route.id in before))


async def unsubscribe(
    command: UnsubscribeCommand, invocation: Invocation, services: Services
) -> Reply:
    channel = _channel(invocation)
    routing, who = await _member(invocation, services)
    removed = await routing.unsubscribe(
        who, channel=channel, project=command.project, source=SOURCE
    )
    file_routes = sum(
        1 for r in await services.routes.all() if r.channel == channel and r.source == "file"
    )
    return Reply(build_unsubscribed(removed, projects=command.projects, file_routes=file_routes))


async def subscriptions(
    command: SubscriptionsCommand, invocation: Invocation, services: Services
) -> Reply:
    channel = invocation.channel_id
    routes = [route_view(r) for r in await services.routes.all() if r.channel == channel]
    digests = None
    if services.digests is not None:
        digests = [
            DigestView(d.cron, d.timezone, d.projects, d.source)
            for d in await services.digests.describe_channel_digests(invocation.channel_id)
        ]
    message = build_subscriptions(
        routes, digests, share=invocation.share_ref(), shared_by=invocation.shared_by
    )
    return Reply(message, answer=True)


async def digest_show(
    command: DigestShowCommand, invocation: Invocation, services: Services
) -> Reply:
    if services.digests is None:
        return Reply(notice(NO_DIGESTS))
    found = await services.digests.describe_channel_digests(invocation.channel_id)
    return Reply(
        build_digest_list([DigestView(d.cron, d.timezone, d.projects, d.source) for d in found])
    )


async def digest_schedule(
    command: DigestScheduleCommand, invocation: Invocation, services: Services
) -> Reply:
    channel = _channel(invocation)
    if services.digests is None:
        return Reply(notice(NO_DIGESTS))
    routing, who = await _member(invocation, services)
    change = DigestChange(channel, (), command.cron, command.timezone or DEFAULT_TIMEZONE)
    try:
        digest = await routing.save_digest(who, None, change, source=SOURCE)
    except FieldProblem as exc:
        raise CommandFailure(exc.message) from exc
    view = DigestView(digest.cron, digest.timezone, digest.projects, digest.source)
    return Reply(build_digest_scheduled(view))


async def digest_off(
    command: DigestOffCommand, invocation: Invocation, services: Services
) -> Reply:
    channel = _channel(invocation)
    if services.digests is None:
        return Reply(notice(NO_DIGESTS))
    routing, who = await _member(invocation, services)
    if await routing.stop_channel_digest(who, channel, source=SOURCE):
        return Reply(notice("This channel's digest is stopped."))
    return Reply(
        notice(
            "This channel has no digest scheduled from Slack (digests from the routes file "
            "are changed there)."
        )
    )


async def digest_now(
    command: DigestNowCommand, invocation: Invocation, services: Services
) -> Reply:
    channel = _channel(invocation)
    if services.digests is None:
        return Reply(notice(NO_DIGESTS))
    outcome = await services.digests.post_digest_now(channel, requested_by=invocation.user_id)
    reason = getattr(outcome, "reason", None)
    if isinstance(reason, str):
        return Reply(notice(f"No digest was posted: {reason}"))
    return Reply(notice("The digest is posted in this channel."))
