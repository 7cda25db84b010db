"""Replies of `/sentry issues`, `issue` and `events`: issue cards, the latest event, event lists.

The cards are the alert card itself (`bot.slack.card.build_issue_card`), so their controls work
like any card's. Frames and tags are untrusted text, escaped and cut like every Sentry string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.sentry.models import Event, Issue
from bot.slack.card import SHORT_ID_MAX, build_issue_card, slack_date
from bot.slack.escape import escape_mrkdwn, link, mrkdwn, one_line
from bot.slack.replies.common import (
    CONTROL_BLOCKS,
    JSON,
    MESSAGE_BLOCKS_MAX,
    code,
    context,
    divider,
    fields_section,
    finish,
    line_sections,
    section,
)
from bot.slack.reply_actions import QueryRef

# A card is at most 3 blocks here (title, facts, controls) plus a divider: 10 cards are 40
# blocks, with a heading, the footer and the controls 43, inside Slack's 50
# (docs.slack.dev/reference/block-kit/blocks).
ISSUES_PAGE_SIZE: Final = 10
CARD_BLOCKS: Final = 4
FRAMES_SHOWN: Final = 5
EVENTS_SHOWN: Final = 20
TAGS_SHOWN: Final = {"browser": "Browser", "os": "OS", "url": "URL", "user": "User"}
VALUE_MAX: Final = 300
EXCEPTION_MAX: Final = 1000


def _search_words(query: str, project: str | None, sort: str) -> str:
    where = f" in {mrkdwn(project, 100)}" if project else ""
    what = f"matching {code(query, 500)}" if query.strip() else "(no search terms)"
    return f"Issues {what}{where}, sorted by {mrkdwn(sort, 10)}"


def build_issue_list(
    issues: Sequence[Issue],
    *,
    query: str,
    project: str | None,
    sort: str,
    offset: int,
    total: int | None,
    search_url: str,
    share: QueryRef | None = None,
    more: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    """One page of issues, each as its triage card, with "and N more" and the search in Sentry."""
    if len(issues) > ISSUES_PAGE_SIZE:
        raise ValueError(f"a page shows at most {ISSUES_PAGE_SIZE} issues")
    words = _search_words(query, project, sort)
    blocks: list[JSON] = [section(f":mag: *{words}*")]
    for issue in issues:
        blocks.extend(build_issue_card(issue)["blocks"])
        blocks.append(divider())
    shown_to = offset + len(issues)
    sentry_link = link(search_url, "Open this search in Sentry", limit=2900)
    if not issues:
        footer = f"No issues{' on this page' if offset else ''}. {sentry_link}"
    else:
        footer = f"Showing {offset + 1:,} to {shown_to:,}"
        if total is not None and total > shown_to:
            footer += f" of {total:,} · and {total - shown_to:,} more: {sentry_link}"
        else:
            footer += f" · {sentry_link}"
    blocks.append(context(footer))
    assert len(blocks) + CONTROL_BLOCKS <= MESSAGE_BLOCKS_MAX
    text = f"{words}: {len(issues)} shown" if issues else f"{words}: none found"
    return finish(
        text,
        blocks,
        share=share,
        more=more if issues else None,
        open_url=search_url,
        open_label="Search in Sentry",
        shared_by=shared_by,
    )


def _frame_line(filename: str, line_no: int | None, function: str) -> str:
    where = f"{filename}:{line_no}" if line_no is not None else filename
    return f"• {code(where, 300)} in {code(function, 200)}"


def event_blocks(event: Event) -> list[JSON]:
    """The latest event: exception, top in-app frames (newest first), release, environment, tags."""
    blocks: list[JSON] = []
    heading = "*Latest event*"
    if event.date_created is not None:
        heading += f" · {slack_date(event.date_created)}"
    heading += f" · {code(event.event_id[:12] or event.id, 40)}"
    blocks.append(section(heading))
    for exception in event.exceptions[-1:]:
        kind = mrkdwn(one_line(exception.type) or "Exception", 200)
        value = mrkdwn(one_line(exception.value), EXCEPTION_MAX)
        lines = [f"*{kind}*: {value}" if value else f"*{kind}*"]
        in_app = [frame for frame in reversed(exception.frames) if frame.in_app]
        frames = in_app or list(reversed(exception.frames))
        lines += [_frame_line(f.filename, f.line_no, f.function) for f in frames[:FRAMES_SHOWN]]
        if not in_app and exception.frames:
            lines.append("_No in-app frames; the innermost frames are shown._")
        blocks.extend(line_sections(lines))
    if not event.exceptions and (event.message or event.title):
        blocks.append(section(mrkdwn(one_line(event.message or event.title), EXCEPTION_MAX)))
    facts = [
        ("Release", code(event.release, VALUE_MAX) if event.release else "none"),
        ("Environment", code(event.environment, VALUE_MAX) if event.environment else "none"),
    ]
    facts += [
        (label, code(event.tags[name], VALUE_MAX))
        for name, label in TAGS_SHOWN.items()
        if event.tags.get(name)
    ]
    blocks.append(fields_section(facts))
    return blocks


def build_issue_detail(
    issue: Issue,
    event: Event | None,
    *,
    event_problem: str | None = None,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    """The issue's card, then its latest event (or why there is none)."""
    card = build_issue_card(issue)
    blocks: list[JSON] = [*card["blocks"], divider()]
    if event is not None:
        blocks.extend(event_blocks(event))
    else:
        blocks.append(context(escape_mrkdwn(event_problem or "No event is stored for this issue.")))
    return finish(card["text"], blocks, share=share, open_url=issue.permalink, shared_by=shared_by)


def _event_line(event: Event) -> str:
    when = slack_date(event.date_created) if event.date_created else "unknown time"
    words = one_line(event.message or event.title) or "(no message)"
    return f"• {code(event.event_id[:12] or event.id, 40)} · {when} · {mrkdwn(words, 300)}"


def build_event_list(
    issue: Issue,
    events: Sequence[Event],
    *,
    has_more: bool,
    events_url: str,
    share: QueryRef | None = None,
    shared_by: str | None = None,
) -> JSON:
    """The most recent events of an issue, newest first, with a link to all of them."""
    short_id = mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)
    title = link(
        issue.permalink, one_line(issue.title) or "(no title)", limit=1500, label_limit=300
    )
    blocks: list[JSON] = [section(f":scroll: *Recent events of {short_id}* · {title}")]
    shown = events[:EVENTS_SHOWN]
    if shown:
        blocks.extend(line_sections([_event_line(event) for event in shown]))
    else:
        blocks.append(section("No events are stored for this issue."))
    more = len(events) - len(shown)
    if more > 0 or has_more:
        count = "more" if has_more else f"{more:,}"
        all_events = link(events_url, "all events in Sentry", limit=2900)
        blocks.append(context(f"And {count} earlier events: {all_events}"))
    text = f"Recent events of {short_id}: {len(shown)} shown"
    return finish(text, blocks, share=share, open_url=events_url, shared_by=shared_by)
