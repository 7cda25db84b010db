"""Replies of the triage subcommands and the delete confirmation dialog (pure builders).

A triage reply lists what changed, with each issue's state as Sentry now reports it, and what
did not change and why. The delete dialog names the issue; its private_metadata (≤ 3,000
characters, Slack docs: view objects; slack_sdk `View`) carries what the submission needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.sentry.ids import IssueId
from bot.sentry.models import Issue
from bot.slack.card import SHORT_ID_MAX, TITLE_MAX, status_words
from bot.slack.dialogs import DeleteRequest
from bot.slack.escape import link, mrkdwn, one_line
from bot.slack.replies.common import JSON, context, finish, line_sections, section
from bot.slack.reply_actions import DELETE_CONFIRM_CALLBACK

CHANGED_SHOWN: Final = 30
NOT_CHANGED_SHOWN: Final = 20
LINK_MAX: Final = 700


@dataclass(frozen=True, slots=True)
class NotChanged:
    """An issue as the person named it (`WEB-3F`, `4506842918`) and why it did not change."""

    ref: str
    reason: str


def issue_label(issue: Issue) -> str:
    """`WEB-3F <permalink|title>`, escaped and bounded (≤ 770 characters)."""
    short_id = mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)
    title = one_line(issue.title) or "(no title)"
    return f"*{short_id}* {link(issue.permalink, title, limit=LINK_MAX, label_limit=150)}"


def _more(count: int) -> list[str]:
    return [f"_…and {count:,} more_"] if count > 0 else []


def build_triage_reply(
    verb: str, changed: Sequence[Issue], not_changed: Sequence[NotChanged]
) -> JSON:
    """`verb` is the operation in words ("Resolved", "Ignored for 2 hours", "Assigned to …")."""
    what = mrkdwn(one_line(verb), 200)
    lines: list[str] = []
    if changed:
        noun = "issue" if len(changed) == 1 else "issues"
        lines.append(f":white_check_mark: *{what}* {len(changed):,} {noun}:")
        lines += [
            f"• {issue_label(issue)} — now {status_words(issue)}"
            for issue in changed[:CHANGED_SHOWN]
        ]
        lines += _more(len(changed) - CHANGED_SHOWN)
    if not_changed:
        noun = "issue was" if len(not_changed) == 1 else "issues were"
        lines.append(f":no_entry_sign: {len(not_changed):,} {noun} not changed:")
        lines += [
            f"• *{mrkdwn(item.ref, SHORT_ID_MAX)}*: {mrkdwn(one_line(item.reason), 500)}"
            for item in not_changed[:NOT_CHANGED_SHOWN]
        ]
        lines += _more(len(not_changed) - NOT_CHANGED_SHOWN)
    if changed:
        text = f"{what} {', '.join(mrkdwn(i.short_id or i.id, SHORT_ID_MAX) for i in changed[:10])}"
    else:
        text = f"Nothing changed: {mrkdwn(not_changed[0].reason, 500)}" if not_changed else what
    blocks = line_sections(lines)
    if changed:
        blocks.append(context("Cards of these issues in channels are updated for everyone."))
    return finish(text, blocks)


def build_delete_modal(issue: Issue, channel: str) -> JSON:
    """The confirmation dialog naming the issue (short ID, title, project, events)."""
    request = DeleteRequest(issue_id=IssueId(issue.id), short_id=issue.short_id, channel=channel)
    title = mrkdwn(one_line(issue.title) or "(no title)", TITLE_MAX)
    short_id = mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)
    project = mrkdwn(one_line(issue.project.slug), 100)
    return {
        "type": "modal",
        "callback_id": DELETE_CONFIRM_CALLBACK,
        "private_metadata": request.encode(),
        "title": {"type": "plain_text", "text": "Delete issue"},
        "submit": {"type": "plain_text", "text": "Delete"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Delete *{short_id}* — {title}?"),
            context(
                f"Project {project} · {issue.count:,} events · {issue.user_count:,} users. "
                "Sentry deletes the issue and all its events; this cannot be undone, and "
                "new events of the same error start a new issue."
            ),
        ],
    }


def build_delete_started(request: DeleteRequest) -> JSON:
    """Sentry answers 202: the deletion runs in the background and the issue is gone at once."""
    short_id = mrkdwn(request.short_id or request.issue_id, SHORT_ID_MAX)
    return {
        "text": f"Deleting {short_id}",
        "blocks": [
            section(
                f":wastebasket: *{short_id}* is being deleted in Sentry. Cards already posted "
                "for it stay in their channels as a record, but their buttons no longer apply."
            )
        ],
    }
