"""Replies of `/sentry subscribe`, `unsubscribe`, `subscriptions` and `digest` (pure builders).

Routes come from two places (README: Routes and digests file): the routes file, applied at start,
and `/sentry subscribe`, stored in the database. Both are shown, each marked with where it lives,
because only the Slack ones can be removed from Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.slack.card import slack_date
from bot.slack.escape import mrkdwn, one_line
from bot.slack.replies.common import JSON, code, context, finish, line_sections, section
from bot.slack.reply_actions import QueryRef

ROUTES_SHOWN: Final = 40
NAME_MAX: Final = 100
QUERY_MAX: Final = 500


@dataclass(frozen=True, slots=True)
class RouteView:
    """A route as a reply shows it (from `bot.store.routes.Route`)."""

    projects: tuple[str, ...]
    query: str
    environment: str | None
    source: str
    watermark: datetime


@dataclass(frozen=True, slots=True)
class DigestView:
    """A digest schedule as a reply shows it; `projects=()` is the routed projects (or all)."""

    cron: str
    timezone: str
    projects: tuple[str, ...]
    source: str


def _projects(projects: Sequence[str]) -> str:
    if not projects:
        return "*every project*"
    return ", ".join(f"*{mrkdwn(one_line(p), NAME_MAX)}*" for p in projects)


def _origin(source: str) -> str:
    return "from the routes file" if source == "file" else "added in Slack"


def route_line(route: RouteView) -> str:
    parts = [f"• {_projects(route.projects)}", f"matching {code(route.query, QUERY_MAX)}"]
    if route.environment:
        parts.append(f"in {code(route.environment, NAME_MAX)}")
    parts.append(f"{_origin(route.source)}, new issues since {slack_date(route.watermark)}")
    return " · ".join(parts)


def digest_line(digest: DigestView) -> str:
    what = f"of {_projects(digest.projects)}" if digest.projects else "of the routed projects"
    return (
        f"• Digest {what} at {code(digest.cron, 100)} ({mrkdwn(digest.timezone, 64)}), "
        f"{_origin(digest.source)}"
    )


def build_subscribed(route: RouteView, *, existed: bool) -> JSON:
    if existed:
        head = ":information_source: This channel already has that subscription:"
    else:
        head = (
            ":white_check_mark: Subscribed. New issues from now on are posted here "
            "(older issues are not):"
        )
    text = "Already subscribed" if existed else "Subscribed"
    return finish(text, [section(f"{head}\n{route_line(route)}")])


def build_unsubscribed(removed: int, *, projects: Sequence[str] | None, file_routes: int) -> JSON:
    """`projects`: None when every subscription of the channel was asked for, () for the one to
    every project."""
    what = "subscription" if projects is None else f"subscription to {_projects(projects)}"
    if removed:
        noun = "subscription" if removed == 1 else "subscriptions"
        head = f":white_check_mark: Removed {removed} {noun} of this channel."
    else:
        head = f":information_source: This channel has no {what} made in Slack."
    blocks = [section(head)]
    if file_routes:
        blocks.append(
            context(
                f"{file_routes} route{'s' if file_routes != 1 else ''} of this channel "
                "come from the routes file; change them there."
            )
        )
    return finish("Unsubscribed" if removed else "Nothing to unsubscribe", blocks)


def build_subscriptions(
    routes: Sequence[RouteView],
    digests: Sequence[DigestView] | None,
    *,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    """The channel's routes and digests (`digests=None`: digests are not available)."""
    lines = [":satellite_antenna: *Subscriptions of this channel*"]
    lines += [route_line(route) for route in routes[:ROUTES_SHOWN]]
    if len(routes) > ROUTES_SHOWN:
        lines.append(f"_…and {len(routes) - ROUTES_SHOWN} more_")
    if not routes:
        lines.append("None. Add one with `/sentry subscribe <project|*> [search terms…]`.")
    if digests is not None:
        lines.append("*Digests*")
        lines += [digest_line(d) for d in digests] or [
            "None. Schedule one with `/sentry digest daily 09:00 Europe/Berlin`."
        ]
    text = f"{len(routes)} subscriptions in this channel"
    return finish(text, line_sections(lines), share=share, shared_by=shared_by)


def build_digest_scheduled(digest: DigestView) -> JSON:
    return finish(
        "Digest scheduled",
        [
            section(f":calendar: Digest scheduled for this channel.\n{digest_line(digest)}"),
            context("`/sentry digest now` posts one right away; `/sentry digest off` stops it."),
        ],
    )


def build_digest_list(digests: Sequence[DigestView]) -> JSON:
    lines = [":calendar: *Digests of this channel*"]
    lines += [digest_line(d) for d in digests] or [
        "None. Schedule one with `/sentry digest daily 09:00 Europe/Berlin`, "
        "or post one now with `/sentry digest now`."
    ]
    return finish("Digests of this channel", line_sections(lines))
