"""Block Kit messages for Sentry issues: the triage card (and its compact variant for link
unfurls), the storm summary, the regression reply.

Pure functions: an `Issue` and explicit state in, `{"text", "blocks"}` out; no clock, no settings,
no I/O, so an action handler re-renders a card with the same builder after re-fetching the issue.
Every Sentry string goes through `escape.mrkdwn` / `escape.plain` / `escape.link`; the limits
below are Slack's (Block Kit reference, docs.slack.dev/reference/block-kit; page named per
constant).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from bot.sentry.models import Assignee, Issue, parse_time
from bot.slack import actions
from bot.slack.actions import ActionValue, ActionValueError
from bot.slack.escape import http_url, link, mention, mrkdwn, one_line, plain, user_mention
from bot.triage.vocabulary import duration_words

JSON = dict[str, Any]

MESSAGE_BLOCKS_MAX: Final = 50  # docs.slack.dev/reference/block-kit/blocks
SECTION_TEXT_MAX: Final = 3000  # Slack docs: section block, `text`
SECTION_FIELD_MAX: Final = 2000  # Slack docs: section block, each of `fields`
CONTEXT_TEXT_MAX: Final = 3000  # Slack docs: text object
OPTION_TEXT_MAX: Final = 75  # Slack docs: option object, `text`
BUTTON_TEXT_MAX: Final = 75  # Slack docs: button element, `text`
BUTTON_URL_MAX: Final = 3000  # Slack docs: button element, `url`

# Display bounds, well inside the limits above: a card stays readable and each line's budget is
# provable. The fallback text stays far below the 4,000 characters Slack recommends (Slack
# changelog api.slack.com/changelog/2018-04-truncating-really-long-messages).
TITLE_MAX: Final = 300
CULPRIT_MAX: Final = 500
NAME_MAX: Final = 200
SHORT_ID_MAX: Final = 60
LEVEL_MAX: Final = 40
VERB_MAX: Final = 200
FALLBACK_PROJECT_MAX: Final = 100
FALLBACK_CULPRIT_MAX: Final = 200

# Storm summary: each issue line is at most STORM_LINE_MAX characters (emoji 22 + link 800 +
# short id 60 + project 60 + events 30 + separators), so three lines always fit one section
# (3 * 990 + 2 newlines <= 3000, Slack docs: section block). STORM_MAX_ISSUES lines need at most
# 10 issue sections, plus mentions, heading and footer: 13 blocks <= 50 (Slack docs: blocks), and
# at most about 30,000 characters, inside the 40,000-character message limit (Slack changelog
# api.slack.com/changelog/2018-04-truncating-really-long-messages).
STORM_LINE_MAX: Final = 990
STORM_LINK_MAX: Final = 800
STORM_TITLE_MAX: Final = 150
STORM_MAX_ISSUES: Final = 30

LEVEL_EMOJI: Final = {
    "fatal": ":skull:",
    "error": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
    "debug": ":mag:",
    "sample": ":test_tube:",
}
UNKNOWN_LEVEL_EMOJI: Final = ":grey_question:"

RESOLVE_OPTIONS: Final = actions.options("resolve")
IGNORE_OPTIONS: Final = actions.options("ignore")

# Sentry statuses after which the card offers "Unresolve" (Sentry
# `src/sentry/api/helpers/group_index/validators/group.py`; `muted` is the legacy alias of
# `ignored`).
RESOLVED_STATUSES: Final = frozenset({"resolved", "resolvedInNextRelease"})
IGNORED_STATUSES: Final = frozenset({"ignored", "muted"})


class LastAction(Protocol):
    """The latest triage action taken from Slack, as the card shows it: who (`U…`), what
    ("Resolved"), when. The card's own record of it is `bot.card.state.LastAction`."""

    @property
    def slack_user_id(self) -> str: ...

    @property
    def verb(self) -> str: ...

    @property
    def at(self) -> datetime: ...


# ---- small renderers ----------------------------------------------------------------------


def level_emoji(level: str) -> str:
    return LEVEL_EMOJI.get(level.lower(), UNKNOWN_LEVEL_EMOJI)


def level_word(level: str) -> str:
    word = one_line(level) or "unknown"
    return mrkdwn(word[:1].upper() + word[1:], LEVEL_MAX)


def slack_date(moment: datetime) -> str:
    """A `<!date^…>` token: Slack shows it in the reader's time zone, so no clock is needed.

    Format: https://docs.slack.dev/messaging/formatting-message-text (date formatting); the
    fallback after `|` is UTC for clients that cannot render the token.
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _resolved_words(status: str, details: Mapping[str, Any]) -> str:
    if status == "resolvedInNextRelease" or details.get("inNextRelease"):
        return "Resolved in next release"
    release = details.get("inRelease")
    if isinstance(release, str) and release:
        return f"Resolved in release {mrkdwn(one_line(release), NAME_MAX)}"
    if details.get("inCommit"):
        return "Resolved in a commit"
    if details.get("autoResolved"):
        return "Resolved automatically"
    return "Resolved"


def _ignored_words(substatus: str | None, details: Mapping[str, Any]) -> str:
    if substatus in {"archived_until_escalating", "until_escalating"} or details.get(
        "ignoreUntilEscalating"
    ):
        return "Ignored until escalating"
    events, users = _count(details.get("ignoreCount")), _count(details.get("ignoreUserCount"))
    if events:
        window = _count(details.get("ignoreWindow"))
        span = f" within {duration_words(window)}" if window else ""
        return f"Ignored until {events:,} more event{'' if events == 1 else 's'}{span}"
    if users:
        window = _count(details.get("ignoreUserWindow"))
        span = f" within {duration_words(window)}" if window else ""
        return f"Ignored until {users:,} more user{'' if users == 1 else 's'}{span}"
    minutes = _count(details.get("ignoreDuration"))
    if minutes:
        return f"Ignored for {duration_words(minutes)}"
    until = details.get("ignoreUntil")
    if isinstance(until, str) and until:
        moment = parse_time(until)
        if moment is not None:
            return f"Ignored until {slack_date(moment)}"
    return "Ignored forever" if substatus in {"archived_forever", "forever"} else "Ignored"


UNRESOLVED_WORDS: Final = {
    "regressed": "Regressed",
    "escalating": "Escalating",
    "new": "New",
    "ongoing": "Ongoing",
}


def status_words(issue: Issue) -> str:
    """The status in words, as mrkdwn: "Resolved in next release", "Ignored for 2 hours"…"""
    if issue.status in RESOLVED_STATUSES:
        return _resolved_words(issue.status, issue.status_details)
    if issue.status in IGNORED_STATUSES:
        return _ignored_words(issue.substatus, issue.status_details)
    if issue.status == "unresolved":
        return UNRESOLVED_WORDS.get(issue.substatus or "", "Unresolved")
    word = one_line(issue.status) or "Unknown"
    return mrkdwn(word[:1].upper() + word[1:], NAME_MAX)


def assignee_label(assignee: Assignee) -> str:
    """How an assignee reads (raw text): a user's name or e-mail, a team as `#name`."""
    name = one_line(assignee.name) or one_line(assignee.email or "") or assignee.actor_id
    return f"#{name}" if assignee.kind == "team" else name


def project_label(issue: Issue) -> str:
    return one_line(issue.project.slug) or one_line(issue.project.name) or "unknown project"


def fallback_text(issue: Issue) -> str:
    """`[project] title: culprit`, escaped; the notification and screen-reader text."""
    project = mrkdwn(project_label(issue), FALLBACK_PROJECT_MAX)
    title = mrkdwn(one_line(issue.title) or "(no title)", TITLE_MAX)
    culprit = one_line(issue.culprit)
    suffix = f": {mrkdwn(culprit, FALLBACK_CULPRIT_MAX)}" if culprit else ""
    return f"[{project}] {title}{suffix}"


def mentions_line(mentions: Sequence[str]) -> str:
    """The configured mentions, validated; as many as fit one section (Slack docs: section)."""
    line = ""
    for slack_id in mentions:
        candidate = f"{line} {mention(slack_id)}".strip()
        if len(candidate) > SECTION_TEXT_MAX:
            break
        line = candidate
    return line


# ---- Block Kit primitives -------------------------------------------------------------------


def _mrkdwn_object(text: str) -> JSON:
    # verbatim: no auto-linking of channel names or bare URLs in Sentry text (Slack docs: text
    # object, `verbatim`);
    # the bot's own <…> sequences are still honoured.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain_object(text: str) -> JSON:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> JSON:
    return {"type": "section", "text": _mrkdwn_object(text)}


def _option(label: str, value: ActionValue) -> JSON:
    return {"text": _plain_object(plain(label, OPTION_TEXT_MAX)), "value": value.encode()}


def _static_select(action_id: str, placeholder: str, options: list[JSON]) -> JSON:
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": _plain_object(placeholder),
        "options": options,
    }


def _revision(text: str, blocks: list[JSON]) -> str:
    """A short digest of the rendered state: new block_ids exactly when the card changes."""
    canonical = json.dumps([text, blocks], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _with_block_ids(text: str, parts: list[tuple[str, JSON]], issue_id: str) -> JSON:
    blocks = [block for _, block in parts]
    revision = _revision(text, blocks)
    return {
        "text": text,
        "blocks": [
            {**block, "block_id": actions.block_id(issue_id, part, revision)}
            for part, block in parts
        ],
    }


# ---- the issue card -------------------------------------------------------------------------


def _title_block(issue: Issue, *, with_culprit: bool = True) -> JSON:
    title = one_line(issue.title) or "(no title)"
    culprit = one_line(issue.culprit) if with_culprit else ""
    culprit_line = f"\n{mrkdwn(culprit, CULPRIT_MAX)}" if culprit else ""
    # emoji (<= 22) + " *" + link + "*" + culprit line (<= 501) stays within 3000.
    room = SECTION_TEXT_MAX - 25 - len(culprit_line)
    title_link = link(issue.permalink, title, limit=room, label_limit=TITLE_MAX)
    return _section(f"{level_emoji(issue.level)} *{title_link}*{culprit_line}")


def _facts_block(issue: Issue) -> JSON:
    assignee = (
        mrkdwn(assignee_label(issue.assigned_to), NAME_MAX) if issue.assigned_to else "Unassigned"
    )
    facts = (
        ("Level", f"{level_emoji(issue.level)} {level_word(issue.level)}"),
        ("Short ID", mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)),
        ("Project", mrkdwn(project_label(issue), NAME_MAX)),
        ("Events", f"{issue.count:,}"),
        ("Users affected", f"{issue.user_count:,}"),
        ("First seen", slack_date(issue.first_seen)),
        ("Last seen", slack_date(issue.last_seen)),
        ("Status", status_words(issue)),
        ("Assignee", assignee),
    )
    return {
        "type": "section",
        "fields": [_mrkdwn_object(f"*{name}*\n{value}") for name, value in facts],
    }


def _last_action_block(last_action: LastAction) -> JSON:
    verb = mrkdwn(one_line(last_action.verb) or "Updated", VERB_MAX)
    who = user_mention(last_action.slack_user_id)
    return {
        "type": "context",
        "elements": [_mrkdwn_object(f"{verb} by {who} · {slack_date(last_action.at)}")],
    }


def _assign_select(issue: Issue) -> JSON:
    select: JSON = {
        "type": "external_select",
        "action_id": actions.ISSUE_ASSIGN,
        "placeholder": _plain_object("Assign…"),
        "min_query_length": 0,
    }
    if issue.assigned_to is not None:
        try:
            value = ActionValue(issue.id, actions.OP_ASSIGN, issue.assigned_to.actor_id)
        except ActionValueError:
            return select  # an actor id this contract cannot carry: show no current choice
        select["initial_option"] = _option(assignee_label(issue.assigned_to), value)
    return select


def _controls_block(issue: Issue) -> JSON:
    elements: list[JSON] = []
    if issue.status in RESOLVED_STATUSES or issue.status in IGNORED_STATUSES:
        elements.append(
            {
                "type": "button",
                "action_id": actions.ISSUE_UNRESOLVE,
                "text": _plain_object("Unresolve"),
                "value": ActionValue(issue.id, actions.OP_UNRESOLVE).encode(),
            }
        )
    else:
        resolve = [
            _option(label, ActionValue(issue.id, actions.OP_RESOLVE, arg))
            for arg, label in RESOLVE_OPTIONS
        ]
        ignore = [
            _option(label, ActionValue(issue.id, actions.OP_IGNORE, arg))
            for arg, label in IGNORE_OPTIONS
        ]
        elements.append(_static_select(actions.ISSUE_RESOLVE, "Resolve…", resolve))
        elements.append(_static_select(actions.ISSUE_IGNORE, "Ignore…", ignore))
    elements.append(_assign_select(issue))
    url = http_url(issue.permalink)
    if url is not None and len(url) <= BUTTON_URL_MAX:
        elements.append(
            {
                "type": "button",
                "action_id": actions.ISSUE_OPEN,
                "text": _plain_object("Open in Sentry"),
                "url": url,
                "value": ActionValue(issue.id, actions.OP_OPEN).encode(),
            }
        )
    return {"type": "actions", "elements": elements}


def build_issue_card(
    issue: Issue,
    *,
    last_action: LastAction | None = None,
    mentions: Sequence[str] = (),
) -> JSON:
    """The triage card for one issue: `{"text": fallback, "blocks": [...]}`.

    `mentions` are Slack user (`U…`/`W…`) or user-group (`S…`) IDs pinged on a new card; pass
    them only when posting, never on updates. Raises ValueError for a malformed mention or user
    ID and `ActionValueError` for an issue id the action values cannot carry.
    At most 5 blocks; block_ids carry the issue id and change whenever the rendering does.
    """
    parts: list[tuple[str, JSON]] = []
    line = mentions_line(mentions)
    if line:
        parts.append(("mentions", _section(line)))
    parts.append(("title", _title_block(issue)))
    parts.append(("facts", _facts_block(issue)))
    if last_action is not None:
        parts.append(("triage", _last_action_block(last_action)))
    parts.append(("controls", _controls_block(issue)))
    return _with_block_ids(fallback_text(issue), parts, issue.id)


def _facts_line(issue: Issue) -> str:
    """The card's facts in one line, for the compact surfaces (unfurls, the Home tab): at most
    about 1,000 characters (short id 60, project 200, status and assignee about 260 each, counts
    and date), within the 3,000 of a text object (Slack docs: text object)."""
    assignee = (
        mrkdwn(assignee_label(issue.assigned_to), NAME_MAX) if issue.assigned_to else "Unassigned"
    )
    return " · ".join(
        (
            f"*{mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)}*",
            mrkdwn(project_label(issue), NAME_MAX),
            status_words(issue),
            f"Assignee: {assignee}",
            f"{issue.count:,} event{'' if issue.count == 1 else 's'}",
            f"{issue.user_count:,} user{'' if issue.user_count == 1 else 's'}",
            f"Last seen {slack_date(issue.last_seen)}",
        )
    )


def _compact_facts_block(issue: Issue) -> JSON:
    """The level, then the facts line, in one context block."""
    level = f"{level_emoji(issue.level)} {level_word(issue.level)}"
    return {"type": "context", "elements": [_mrkdwn_object(f"{level} · {_facts_line(issue)}")]}


def build_compact_card(issue: Issue, *, last_action: LastAction | None = None) -> JSON:
    """The card's compact variant, for a Sentry link unfurled in someone's message: the title,
    one line of facts (level, short ID, project, status, assignee, events, users, last seen),
    the last triage action and the alert card's own controls. At most 4 blocks, none of them
    `rich_text` (which chat.unfurl refuses; Slack docs: "Unfurling links in messages")."""
    parts: list[tuple[str, JSON]] = [
        ("title", _title_block(issue, with_culprit=False)),
        ("facts", _compact_facts_block(issue)),
    ]
    if last_action is not None:
        parts.append(("triage", _last_action_block(last_action)))
    parts.append(("controls", _controls_block(issue)))
    return _with_block_ids(fallback_text(issue), parts, issue.id)


# ---- the regression reply -------------------------------------------------------------------


def build_regression_reply(issue: Issue) -> JSON:
    """The threaded reply under a card when its issue comes back (README: Triage from the card).

    "Escalating: …" when Sentry's substatus says so, "Regressed: …" otherwise.
    """
    escalating = issue.substatus == "escalating"
    word = "Escalating" if escalating else "Regressed"
    emoji = ":chart_with_upwards_trend:" if escalating else ":repeat:"
    title = one_line(issue.title) or "(no title)"
    title_link = link(issue.permalink, title, limit=SECTION_TEXT_MAX - 40, label_limit=TITLE_MAX)
    summary = (
        f"{mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)} · "
        f"{issue.count:,} events · {issue.user_count:,} users · "
        f"last seen {slack_date(issue.last_seen)}"
    )
    parts = [
        ("reply", _section(f"{emoji} *{word}:* {title_link}")),
        ("reply-facts", {"type": "context", "elements": [_mrkdwn_object(summary)]}),
    ]
    return _with_block_ids(f"{word}: {fallback_text(issue)}", parts, issue.id)


# ---- the storm summary ----------------------------------------------------------------------


def storm_line(issue: Issue) -> str:
    """One issue in a storm summary, at most STORM_LINE_MAX characters."""
    title = one_line(issue.title) or "(no title)"
    return (
        f"{level_emoji(issue.level)} "
        f"{link(issue.permalink, title, limit=STORM_LINK_MAX, label_limit=STORM_TITLE_MAX)}"
        f" · {mrkdwn(one_line(issue.short_id) or issue.id, SHORT_ID_MAX)}"
        f" · {mrkdwn(project_label(issue), SHORT_ID_MAX)}"
        f" · {issue.count:,} event{'' if issue.count == 1 else 's'}"
    )


def _pack(lines: Sequence[str]) -> list[str]:
    """Greedily join lines into section texts of at most SECTION_TEXT_MAX characters."""
    sections: list[str] = []
    for line in lines:
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_TEXT_MAX:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return sections


def build_storm_summary(issues: Sequence[Issue], *, mentions: Sequence[str] = ()) -> JSON:
    """One message listing up to STORM_MAX_ISSUES new issues, sent instead of a card each.

    Larger storms are cut into chunks by the caller (`bot.alerts.delivery`). The message is at
    most 13 blocks, each section at most 3000 characters (see STORM_LINE_MAX). Raises ValueError for
    an empty or oversized chunk or a malformed mention ID.
    """
    if not 1 <= len(issues) <= STORM_MAX_ISSUES:
        raise ValueError(f"a storm summary lists 1 to {STORM_MAX_ISSUES} issues")
    projects = sorted({project_label(issue) for issue in issues})
    count = len(issues)
    noun = "issue" if count == 1 else "issues"
    heading = f"{count} new Sentry {noun} in {mrkdwn(', '.join(projects), NAME_MAX)}"
    parts: list[tuple[str, JSON]] = []
    line = mentions_line(mentions)
    if line:
        parts.append(("mentions", _section(line)))
    parts.append(("heading", _section(f":rotating_light: *{heading}*")))
    for index, text in enumerate(_pack([storm_line(issue) for issue in issues])):
        parts.append((f"issues-{index}", _section(text)))
    footer = "Too many new issues at once for a card each. Open an issue in Sentry to triage it."
    parts.append(("footer", {"type": "context", "elements": [_mrkdwn_object(footer)]}))
    blocks = [block for _, block in parts]
    revision = _revision(heading, blocks)
    return {
        "text": heading,
        "blocks": [{**block, "block_id": f"storm:{part}:{revision}"} for part, block in parts],
    }


# ---- the compact card (App Home) ------------------------------------------------------------

COMPACT_TITLE_MAX: Final = 200
COMPACT_BLOCKS: Final = 2


def _compact_block(issue: Issue) -> JSON:
    title = one_line(issue.title) or "(no title)"
    # emoji (<= 22) + " *" + link (<= 1000) + "*\n" + facts (< 1100) stays within 3000.
    title_link = link(issue.permalink, title, limit=1000, label_limit=COMPACT_TITLE_MAX)
    return _section(f"{level_emoji(issue.level)} *{title_link}*\n{_facts_line(issue)}")


def build_issue_summary(issue: Issue) -> list[JSON]:
    """The card in two blocks, for surfaces that list many issues (the App Home tab): the
    title with one line of facts, and the card's own controls (same action_ids and values,
    so a click is handled like one on the card). Block_ids carry the issue id, as on the card."""
    parts = [("summary", _compact_block(issue)), ("controls", _controls_block(issue))]
    return _with_block_ids(fallback_text(issue), parts, issue.id)["blocks"]  # type: ignore[no-any-return]
