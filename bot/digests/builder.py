"""The digest message as a pure Block Kit builder: `DigestContent` in, `{"text", "blocks"}` out.

Layout (at most MESSAGE_BLOCKS_MAX = 50 blocks, docs.slack.dev/reference/block-kit/blocks): a
header, the period, one line of counts, the issue lines, the releases, and "and N more" links to
the same searches in Sentry. With several projects the issue lines are grouped under a line per
project. Lines are chosen in this order until the block budget is spent: the top N issues by
events in the period, then regressed and escalating issues, then new issues; each issue is listed
once, marked by what it is (:new:, :repeat: regressed, :chart_with_upwards_trend: escalating).

Each issue line is one section whose accessory is an overflow menu (`digest.triage`, at most five
options, Slack docs: overflow menu element) carrying `ActionValue`s. Its block_id,
`dline:<issue>:<kind>:<events>:<users>:<revision>`, keeps what the line showed for the period,
so after a triage action `replace_issue_line` re-renders that one line from the re-fetched issue
and leaves every other block as it was. An empty period is one line, not an empty layout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final

from bot.digests.model import ESCALATING, REGRESSED, DigestContent
from bot.sentry.models import Issue
from bot.slack import actions
from bot.slack.actions import ActionValue, ActionValueError
from bot.slack.card import (
    IGNORED_STATUSES,
    MESSAGE_BLOCKS_MAX,
    NAME_MAX,
    RESOLVED_STATUSES,
    SECTION_TEXT_MAX,
    SHORT_ID_MAX,
    assignee_label,
    level_emoji,
    project_label,
    slack_date,
    status_words,
)
from bot.slack.escape import link, mrkdwn, one_line, plain, truncate

JSON = dict[str, Any]

HEADER_TEXT_MAX: Final = 150  # Slack docs: header block, `text`
LINE_LINK_MAX: Final = 800
LINE_TITLE_MAX: Final = 150
RELEASES_LISTED_MAX: Final = 20
LINE_PREFIX: Final = "dline"
NEW, TOP = "new", "top"
KINDS: Final = (NEW, REGRESSED, ESCALATING, TOP)
BADGES: Final = {
    NEW: ":new:",
    REGRESSED: ":repeat:",
    ESCALATING: ":chart_with_upwards_trend:",
}
# header, period, counts, releases, "and N more": the blocks that are not issue lines.
FIXED_BLOCKS: Final = 5

TRIAGE_OPTIONS: Final = actions.standalone_options(
    ("resolve", "now"), ("ignore", "24h"), ("assign", "me")
)
REOPEN_OPTIONS: Final = actions.standalone_options(("unresolve", ""), ("assign", "me"))


def _mrkdwn_object(text: str) -> JSON:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str, block_id: str) -> JSON:
    return {"type": "section", "block_id": block_id, "text": _mrkdwn_object(text)}


def _context(text: str, block_id: str) -> JSON:
    return {"type": "context", "block_id": block_id, "elements": [_mrkdwn_object(text)]}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def projects_label(projects: Sequence[str]) -> str:
    """Raw text naming the digest's projects ("all projects" when unrestricted)."""
    return ", ".join(one_line(p) for p in projects) if projects else "all projects"


# ---- issue lines ----------------------------------------------------------------------------


def issue_kind(issue: Issue, content: DigestContent) -> str:
    if issue.substatus in (REGRESSED, ESCALATING):
        return issue.substatus
    if issue.first_seen >= content.period_start:
        return NEW
    return TOP


def _overflow(issue: Issue) -> JSON | None:
    reopen = issue.status in RESOLVED_STATUSES or issue.status in IGNORED_STATUSES
    try:
        options = [
            {
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": ActionValue(issue.id, op, arg).encode(),
            }
            for label, op, arg in (REOPEN_OPTIONS if reopen else TRIAGE_OPTIONS)
        ]
    except ActionValueError:
        return None  # an id the action contract cannot carry: the line links to Sentry only
    return {"type": "overflow", "action_id": actions.DIGEST_TRIAGE, "options": options}


def issue_line(issue: Issue, *, kind: str, events: int, users: int) -> JSON:
    """One issue of the digest: badge, linked title, short id, counts in the period, state.

    At most 22 + 800 + 60 + 60 + 2 * 30 + 300 + 200 characters: within a section (3000).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown digest line kind {kind!r}")
    title = one_line(issue.title) or "(no title)"
    parts = [
        f"{BADGES.get(kind, level_emoji(issue.level))} "
        f"*{link(issue.permalink, title, limit=LINE_LINK_MAX, label_limit=LINE_TITLE_MAX)}*",
        mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX),
        _plural(events, "event"),
        _plural(users, "user"),
    ]
    if issue.status != "unresolved":
        parts.append(truncate(status_words(issue), 300))
    if issue.assigned_to is not None:
        parts.append(f":bust_in_silhouette: {mrkdwn(assignee_label(issue.assigned_to), NAME_MAX)}")
    text = truncate(" · ".join(parts), SECTION_TEXT_MAX)
    block: JSON = {"type": "section", "text": _mrkdwn_object(text)}
    accessory = _overflow(issue)
    if accessory is not None:
        block["accessory"] = accessory
    canonical = json.dumps(block, sort_keys=True, ensure_ascii=False)
    revision = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    # Sentry issue ids are digits; anything else cannot be found again by `replace_issue_line`.
    token = issue.id if issue.id.isascii() and issue.id.isalnum() and len(issue.id) <= 40 else "x"
    block["block_id"] = f"{LINE_PREFIX}:{token}:{kind}:{events}:{users}:{revision}"
    return block


def parse_line_block_id(block_id: object) -> tuple[str, str, int, int] | None:
    """(issue id, kind, events, users) of an issue line's block_id, None for any other block."""
    if not isinstance(block_id, str):
        return None
    parts = block_id.split(":")
    if len(parts) != 6 or parts[0] != LINE_PREFIX or parts[2] not in KINDS:
        return None
    if not (parts[3].isdigit() and parts[4].isdigit()):
        return None
    return parts[1], parts[2], int(parts[3]), int(parts[4])


def replace_issue_line(blocks: Sequence[JSON], issue: Issue) -> list[JSON]:
    """The digest's blocks with only the line(s) of `issue` re-rendered from its new state."""
    replaced: list[JSON] = []
    for block in blocks:
        parsed = parse_line_block_id(block.get("block_id"))
        if parsed is not None and parsed[0] == issue.id:
            _, kind, events, users = parsed
            replaced.append(issue_line(issue, kind=kind, events=events, users=users))
        else:
            replaced.append(block)
    return replaced


# ---- the digest -----------------------------------------------------------------------------


def _selection(content: DigestContent) -> list[tuple[Issue, str]]:
    """Every issue the digest would list, in priority order, each once."""
    chosen: dict[str, tuple[Issue, str]] = {}
    ranked = [*content.active[: content.top]]
    ranked += [i for i in content.active if i.substatus in (REGRESSED, ESCALATING)]
    for issue in ranked:
        chosen.setdefault(issue.id, (issue, issue_kind(issue, content)))
    for issue in content.new_issues:
        chosen.setdefault(issue.id, (issue, issue_kind(issue, content)))
    return list(chosen.values())


def _grouped(content: DigestContent, budget: int) -> tuple[list[tuple[str, list[Issue]]], int]:
    """Issue lines grouped by project within `budget` blocks; with several projects each group
    costs one heading block. Returns the groups and the number of lines that did not fit."""
    selection = _selection(content)
    several = len({project_label(i) for i, _ in selection}) > 1
    groups: dict[str, list[Issue]] = {}
    used = 0
    left_out = 0
    for issue, _ in selection:
        project = project_label(issue) if several else ""
        cost = 1 + (1 if several and project not in groups else 0)
        if used + cost > budget:
            left_out += 1
            continue
        groups.setdefault(project, []).append(issue)
        used += cost
    return list(groups.items()), left_out


def _project_heading(project: str, content: DigestContent) -> str:
    new = sum(1 for i in content.new_issues if project_label(i) == project)
    active = [i for i in content.active if project_label(i) == project]
    events = sum(i.count for i in active)
    facts = [f"{new:,} new"] if new else []
    regressed = sum(1 for i in active if i.substatus == REGRESSED)
    escalating = sum(1 for i in active if i.substatus == ESCALATING)
    if regressed:
        facts.append(f"{regressed:,} regressed")
    if escalating:
        facts.append(f"{escalating:,} escalating")
    facts.append(_plural(events, "event"))
    return f"*{mrkdwn(project, NAME_MAX)}* · " + " · ".join(facts)


def _releases_text(content: DigestContent) -> str:
    listed = content.releases[:RELEASES_LISTED_MAX]
    several = len(content.projects) != 1
    if several:
        by_project: dict[str, list[str]] = {}
        for release in listed:
            for project in release.projects or ("(no project)",):
                if content.projects and project not in content.projects:
                    continue
                by_project.setdefault(project, []).append(release.short_version)
        body = " · ".join(
            f"{mrkdwn(project, NAME_MAX)}: " + ", ".join(f"`{mrkdwn(v, 100)}`" for v in versions)
            for project, versions in by_project.items()
        )
    else:
        body = ", ".join(f"`{mrkdwn(r.short_version, 100)}`" for r in listed)
    more = len(content.releases) - len(listed)
    extra = f" and {more:,} more" if more > 0 else ""
    heading = f":package: *{_plural(len(content.releases), 'release')}:* "
    return truncate(heading + body + extra, SECTION_TEXT_MAX)


def _period_text(content: DigestContent) -> str:
    text = f"{slack_date(content.period_start)} → {slack_date(content.period_end)}"
    if content.on_demand:
        text += " · on demand, the period so far"
    if content.scheduled_for is not None:
        text += f" · :hourglass: posted late, was due {slack_date(content.scheduled_for)}"
    return text


def build_digest(content: DigestContent) -> JSON:
    """The digest message for `content` (README "Digests"): at most 50 blocks."""
    label = projects_label(content.projects)
    if content.empty:
        line = (
            f"Sentry digest for {mrkdwn(label, NAME_MAX)}: no new or active issues, nothing "
            f"resolved or ignored and no releases between {slack_date(content.period_start)} "
            f"and {slack_date(content.period_end)}."
        )
        if content.scheduled_for is not None:
            line += f" (posted late, was due {slack_date(content.scheduled_for)})"
        return {"text": line, "blocks": [_section(line, "digest:empty")]}

    text = (
        f"Sentry digest for {mrkdwn(label, NAME_MAX)}: {content.new_total:,} new, "
        f"{content.active_total:,} active, {content.resolved:,} resolved, "
        f"{content.ignored:,} ignored"
    )
    blocks: list[JSON] = [
        {
            "type": "header",
            "block_id": "digest:header",
            "text": {
                "type": "plain_text",
                "text": plain(f"Sentry digest: {label}", HEADER_TEXT_MAX),
                "emoji": True,
            },
        },
        _context(_period_text(content), "digest:period"),
    ]
    counts = [
        f"*{content.new_total:,}* new",
        f"*{len(content.regressed):,}* regressed",
        f"*{len(content.escalating):,}* escalating",
        f"*{content.active_total:,}* active",
        f"*{content.resolved:,}* resolved",
        f"*{content.ignored:,}* ignored",
    ]
    blocks.append(_section(" · ".join(counts), "digest:counts"))

    groups, _ = _grouped(content, MESSAGE_BLOCKS_MAX - FIXED_BLOCKS)
    for index, (project, issues) in enumerate(groups):
        if project:
            blocks.append(_section(_project_heading(project, content), f"digest:project:{index}"))
        for issue in issues:
            blocks.append(
                issue_line(
                    issue,
                    kind=issue_kind(issue, content),
                    events=issue.count,
                    users=issue.user_count,
                )
            )

    if content.releases:
        blocks.append(_section(_releases_text(content), "digest:releases"))

    shown = {i.id for _, issues in groups for i in issues}
    more_new = max(content.new_total - sum(1 for i in content.new_issues if i.id in shown), 0)
    more_active = max(content.active_total - sum(1 for i in content.active if i.id in shown), 0)
    more: list[str] = []
    if more_new:
        more.append(link(content.new_search_url, f"and {more_new:,} more new", limit=1400))
    if more_active:
        more.append(link(content.active_search_url, f"and {more_active:,} more active", limit=1400))
    if more:
        blocks.append(_context(" · ".join(more) + " in Sentry", "digest:more"))
    return {"text": text, "blocks": blocks}
