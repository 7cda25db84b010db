"""The Home tab's view (pure): a person's issues, their teams' issues, routes and digests.

Data in, a `{"type": "home", "blocks": [...]}` view out; no clock, settings or I/O. Issues are
drawn with the card's compact variant (`bot.slack.card.build_issue_summary`: the same controls
and action_ids as the card), every Sentry string is escaped, and the view never exceeds the
100 blocks Slack allows a Home view (Slack docs: docs.slack.dev/reference/views/home-tab-views;
`views.publish`). Issue sections come first; routes and digests take what room is left and the
rest are counted in one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bot.sentry.models import Issue
from bot.slack.card import build_issue_summary
from bot.slack.escape import http_url, link, mention, mrkdwn, one_line, plain

JSON = dict[str, Any]

HOME_BLOCKS_MAX: Final = 100  # Slack docs: views.publish, a Home view holds up to 100 blocks
HEADER_TEXT_MAX: Final = 150  # Slack docs: header block, `text`
SECTION_TEXT_MAX: Final = 3000  # Slack docs: section block, `text`
ISSUES_PER_SECTION: Final = 20
NOTICE_MAX: Final = 1500
QUERY_MAX: Final = 500
PROJECTS_MAX: Final = 600
ENVIRONMENT_MAX: Final = 100

ROUTE_ADD: Final = "home.route.add"
ROUTE_MENU: Final = "home.route.menu"
DIGEST_ADD: Final = "home.digest.add"
DIGEST_MENU: Final = "home.digest.menu"
REFRESH: Final = "home.refresh"
HOME_ACTION_IDS: Final = frozenset({ROUTE_ADD, ROUTE_MENU, DIGEST_ADD, DIGEST_MENU, REFRESH})

EDIT, REMOVE = "edit", "remove"

_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,30}")


@dataclass(frozen=True, slots=True)
class IssueSection:
    """Up to 20 issues of one search, its total in Sentry, and the same search in Sentry's UI."""

    issues: Sequence[Issue]
    total: int
    more_url: str


@dataclass(frozen=True, slots=True)
class RouteRow:
    id: int
    channel: str
    projects: tuple[str, ...]
    query: str
    environment: str | None
    mention: tuple[str, ...]
    editable: bool


@dataclass(frozen=True, slots=True)
class DigestRow:
    id: int
    channel: str
    cron: str
    timezone: str
    projects: tuple[str, ...]
    editable: bool


@dataclass(frozen=True, slots=True)
class HomeContent:
    """What the tab shows to a mapped member; `teams` is None for someone in no team."""

    mine: IssueSection
    teams: IssueSection | None
    team_names: tuple[str, ...]
    routes: Sequence[RouteRow] = ()
    digests: Sequence[DigestRow] = ()
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class HomeProblem:
    """Why the tab cannot list anything (not mapped, another team, Sentry down) and what to do."""

    title: str
    reason: str
    advice: str
    notice: str | None = None
    extra: Sequence[str] = field(default_factory=tuple)


# ---- primitives -----------------------------------------------------------------------------


def _text(text: str) -> JSON:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> JSON:
    return {"type": "plain_text", "text": text, "emoji": True}


def _header(text: str, block_id: str) -> JSON:
    return {"type": "header", "block_id": block_id, "text": _plain(plain(text, HEADER_TEXT_MAX))}


def _section(text: str, block_id: str, accessory: JSON | None = None) -> JSON:
    block: JSON = {"type": "section", "block_id": block_id, "text": _text(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str, block_id: str) -> JSON:
    return {"type": "context", "block_id": block_id, "elements": [_text(text)]}


def _button(text: str, action_id: str, value: str = "open", style: str | None = None) -> JSON:
    button: JSON = {"type": "button", "action_id": action_id, "text": _plain(text), "value": value}
    if style:
        button["style"] = style
    return button


def _menu(action_id: str, row_id: int) -> JSON:
    return {
        "type": "overflow",
        "action_id": action_id,
        "options": [
            {"text": _plain("Edit…"), "value": f"{EDIT}:{row_id}"},
            {"text": _plain("Remove…"), "value": f"{REMOVE}:{row_id}"},
        ],
    }


def channel_ref(channel: str) -> str:
    """`<#C…>` for a channel ID (Slack shows its name to the reader); escaped text otherwise."""
    return f"<#{channel}>" if _CHANNEL.fullmatch(channel) else mrkdwn(channel, 40)


def _projects(projects: Sequence[str]) -> str:
    return mrkdwn(", ".join(projects), PROJECTS_MAX) if projects else "every project"


def _mentions(ids: Sequence[str]) -> str:
    shown: list[str] = []
    for slack_id in ids:
        try:
            shown.append(mention(slack_id))
        except ValueError:
            continue
    return " ".join(shown[:20])


def route_text(row: RouteRow) -> str:
    """One route in words: where, which projects, the search, environment and mentions."""
    parts = [
        f"{channel_ref(row.channel)} ← {_projects(row.projects)}",
        f"search “{mrkdwn(one_line(row.query), QUERY_MAX)}”",
    ]
    if row.environment:
        parts.append(f"environment {mrkdwn(one_line(row.environment), ENVIRONMENT_MAX)}")
    pinged = _mentions(row.mention)
    if pinged:
        parts.append(f"notifies {pinged}")
    if not row.editable:
        parts.append("_from the config file (read-only)_")
    return " · ".join(parts)


def digest_text(row: DigestRow) -> str:
    parts = [
        f"{channel_ref(row.channel)} ← {_projects(row.projects)}",
        f"schedule “{mrkdwn(one_line(row.cron), 100)}” ({mrkdwn(one_line(row.timezone), 64)})",
    ]
    if not row.editable:
        parts.append("_from the config file (read-only)_")
    return " · ".join(parts)


# ---- sections -------------------------------------------------------------------------------


def _issue_section(
    key: str, title: str, section: IssueSection, empty: str, seen: set[str]
) -> list[JSON]:
    """A header, up to 20 issues (an issue already shown above is skipped, as block_ids are
    unique in a view), and a footer with the total and the search in Sentry."""
    blocks = [_header(title, f"home:{key}:header")]
    shown = 0
    for issue in section.issues:
        if shown == ISSUES_PER_SECTION or issue.id in seen:
            continue
        seen.add(issue.id)
        blocks.extend(build_issue_summary(issue))
        shown += 1
    if shown == 0:
        footer = empty
    else:
        total = max(section.total, shown)
        footer = f"Showing {shown} of {total:,}, most recently active first."
    url = http_url(section.more_url)
    if url is not None:
        footer += " " + link(section.more_url, "More in Sentry", limit=2000)
    blocks.append(_context(footer, f"home:{key}:footer"))
    return blocks


def _with_notice(notice: str | None) -> list[JSON]:
    if not notice:
        return []
    return [_section(f":information_source: {mrkdwn(notice, NOTICE_MAX)}", "home:notice")]


def build_home(content: HomeContent) -> JSON:
    """The Home view for a mapped member: at most 100 blocks, whatever the input."""
    top = _with_notice(content.notice)
    seen: set[str] = set()
    mine = _issue_section(
        "mine", "Assigned to you", content.mine, "Nothing unresolved is assigned to you.", seen
    )
    if content.teams is not None:
        names = ", ".join(f"#{name}" for name in content.team_names)
        title = f"Assigned to your teams ({names})" if names else "Assigned to your teams"
        teams = _issue_section(
            "teams", title, content.teams, "Nothing unresolved is assigned to your teams.", seen
        )
    else:
        teams = [
            _header("Assigned to your teams", "home:teams:header"),
            _context("You are in no Sentry team.", "home:teams:footer"),
        ]
    manage = [
        _header("Channel routes and digests", "home:manage:header"),
        {
            "type": "actions",
            "block_id": "home:manage:actions",
            "elements": [
                _button("Add a route", ROUTE_ADD, style="primary"),
                _button("Add a digest", DIGEST_ADD),
                _button("Refresh", REFRESH),
            ],
        },
    ]
    fixed = len(top) + len(mine) + len(teams) + len(manage)
    routes, digests = list(content.routes), list(content.digests)
    route_room, digest_room = _allot(
        HOME_BLOCKS_MAX - fixed - (0 if routes else 1), len(routes), len(digests)
    )
    rows: list[JSON] = []
    if not routes:
        rows.append(_context("No channel gets Sentry issues yet.", "home:routes:none"))
    for row in routes[:route_room]:
        accessory = _menu(ROUTE_MENU, row.id) if row.editable else None
        rows.append(
            _section(":satellite_antenna: " + route_text(row), f"home:route:{row.id}", accessory)
        )
    if len(routes) > route_room and routes:
        rows.append(
            _context(
                f"{len(routes) - route_room} more routes are not shown; "
                "`/sentry subscriptions` in a channel lists its own.",
                "home:routes:more",
            )
        )
    for digest in digests[:digest_room]:
        accessory = _menu(DIGEST_MENU, digest.id) if digest.editable else None
        rows.append(
            _section(":calendar: " + digest_text(digest), f"home:digest:{digest.id}", accessory)
        )
    if len(digests) > digest_room:
        rows.append(
            _context(
                f"{len(digests) - digest_room} more digests are not shown; "
                "`/sentry digest` in a channel shows its own.",
                "home:digests:more",
            )
        )
    blocks = top + mine + teams + manage + rows
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


def _allot(room: int, routes: int, digests: int) -> tuple[int, int]:
    """How many route and digest rows fit `room` blocks, each kind that does not fit whole
    keeping one block for its "more" line; the longer list gives way first."""
    shown_routes, shown_digests = routes, digests

    def needed() -> int:
        return shown_routes + shown_digests + (shown_routes < routes) + (shown_digests < digests)

    while needed() > room and (shown_routes or shown_digests):
        if shown_routes >= shown_digests:
            shown_routes -= 1
        else:
            shown_digests -= 1
    return shown_routes, shown_digests


def build_home_problem(problem: HomeProblem) -> JSON:
    """The Home view for someone it cannot list issues for: why, and what to do instead."""
    blocks = _with_notice(problem.notice)
    blocks.append(_header(plain(problem.title, HEADER_TEXT_MAX) or "Sentry", "home:problem:header"))
    reason = mrkdwn(problem.reason, SECTION_TEXT_MAX).strip() or "No reason was given."
    blocks.append(_section(reason, "home:problem:reason"))
    advice = mrkdwn(problem.advice, SECTION_TEXT_MAX).strip()
    if advice:
        blocks.append(_context(advice, "home:problem:advice"))
    blocks.extend(
        _context(mrkdwn(line, SECTION_TEXT_MAX), f"home:problem:extra:{n}")
        for n, line in enumerate(problem.extra[:5])
        if mrkdwn(line, SECTION_TEXT_MAX).strip()
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "home:problem:actions",
            "elements": [_button("Try again", REFRESH)],
        }
    )
    return {"type": "home", "blocks": blocks}


def parse_menu_value(value: object) -> tuple[str, int] | None:
    """`edit:12` → ("edit", 12); None for anything else (an old or forged value)."""
    if not isinstance(value, str):
        return None
    verb, _, raw = value.partition(":")
    if verb not in (EDIT, REMOVE) or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    return verb, int(raw)
