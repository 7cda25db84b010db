"""The Home tab's modals (pure): add, edit and remove a route or a digest, and reading them back.

Builders take explicit values and return view objects; readers take the `view.state.values` of
a `view_submission` (Slack docs: view_submission payload; bolt-js `ViewStateValue`) and return a
typed form or the errors to show on each input block (`response_action: errors`, keyed by
block_id; Slack docs: docs.slack.dev/surfaces/modals, "Displaying errors in views"). No field
from the payload is trusted: a missing or oddly typed value is an error on its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.slack.escape import mrkdwn, plain

JSON = dict[str, Any]

ROUTE_SAVE: Final = "home.route.save"
ROUTE_REMOVE: Final = "home.route.remove"
DIGEST_SAVE: Final = "home.digest.save"
DIGEST_REMOVE: Final = "home.digest.remove"
MODAL_CALLBACKS: Final = frozenset({ROUTE_SAVE, ROUTE_REMOVE, DIGEST_SAVE, DIGEST_REMOVE})

PROJECTS_PICKER: Final = "home.projects"
GROUPS_PICKER: Final = "home.usergroups"
TIMEZONE_PICKER: Final = "home.timezone"

CHANNEL_BLOCK, PROJECTS_BLOCK, QUERY_BLOCK = "channel", "projects", "query"
ENVIRONMENT_BLOCK, MENTIONS_BLOCK, GROUPS_BLOCK = "environment", "mentions", "groups"
FREQUENCY_BLOCK, TIME_BLOCK, TIMEZONE_BLOCK = "frequency", "time", "timezone"

TITLE_MAX: Final = 24  # Slack docs: modal view, `title`, `submit`, `close`
PLACEHOLDER_MAX: Final = 150  # Slack docs: input elements, `placeholder`
QUERY_MAX: Final = 500  # longest search a route keeps (Sentry's search box has no set limit)
ENVIRONMENT_MAX: Final = 64  # Sentry environment names are at most 64 characters
MENTIONS_MAX: Final = 20
PROJECTS_MAX: Final = 30  # 30 slugs of at most 50 characters fit the routes.projects column
DEFAULT_QUERY: Final = "is:unresolved"

METADATA_VERSION: Final = "v1"
_METADATA = re.compile(r"home:v1:(route|digest):(new|[0-9]{1,19})")
_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,30}")
_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_GROUP = re.compile(r"S[A-Z0-9]{2,20}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# Sentry environment names: no newlines, slashes or whitespace (Sentry
# `src/sentry/models/environment.py` `ENVIRONMENT_NAME_PATTERN` = `^[^\n\r\f\/]*$`, and the
# ingest side refuses spaces).
_ENVIRONMENT = re.compile(r"[^\s/]{1,64}")

FREQUENCIES: Final = (
    ("daily", "Every day", "*"),
    ("weekdays", "Monday to Friday", "1-5"),
    ("mon", "Every Monday", "1"),
    ("tue", "Every Tuesday", "2"),
    ("wed", "Every Wednesday", "3"),
    ("thu", "Every Thursday", "4"),
    ("fri", "Every Friday", "5"),
    ("sat", "Every Saturday", "6"),
    ("sun", "Every Sunday", "0"),
)
_CRON = re.compile(r"([0-5]?[0-9]) ([01]?[0-9]|2[0-3]) \* \* (\*|1-5|[0-6])")


class ModalMetadataError(ValueError):
    """private_metadata this version did not write."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a modal edits: a route or digest by id, or a new one (`row_id` None)."""

    kind: str
    row_id: int | None

    def encode(self) -> str:
        return (
            f"home:{METADATA_VERSION}:{self.kind}:{'new' if self.row_id is None else self.row_id}"
        )

    @classmethod
    def decode(cls, value: object) -> Target:
        if not isinstance(value, str) or not (match := _METADATA.fullmatch(value)):
            raise ModalMetadataError("not a Home modal")
        raw = match.group(2)
        return cls(match.group(1), None if raw == "new" else int(raw))


@dataclass(frozen=True, slots=True)
class RouteForm:
    channel: str
    projects: tuple[str, ...]
    query: str
    environment: str | None
    mention: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DigestForm:
    channel: str
    projects: tuple[str, ...]
    cron: str
    timezone: str


# ---- builders -------------------------------------------------------------------------------


def _plain(text: str) -> JSON:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    block_id: str, label: str, element: JSON, *, optional: bool = False, hint: str = ""
) -> JSON:
    block: JSON = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _option(text: str, value: str) -> JSON:
    return {"text": _plain(plain(text, 75)), "value": value}


def _modal(callback_id: str, title: str, submit: str, target: Target, blocks: list[JSON]) -> JSON:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title[:TITLE_MAX]),
        "submit": _plain(submit[:TITLE_MAX]),
        "close": _plain("Cancel"),
        "private_metadata": target.encode(),
        "blocks": blocks,
    }


def _channel_input(initial: str | None) -> JSON:
    element: JSON = {
        "type": "conversations_select",
        "action_id": "channel",
        "placeholder": _plain("Pick a channel"),
        # Routes post to channels only: no DMs; filter object per Slack docs
        # (composition objects, conversation filter).
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if initial and _CHANNEL.fullmatch(initial):
        element["initial_conversation"] = initial
    return _input(
        CHANNEL_BLOCK, "Channel", element, hint="Invite the app to a private channel first."
    )


def _projects_input(initial: Sequence[str]) -> JSON:
    element: JSON = {
        "type": "multi_external_select",
        "action_id": PROJECTS_PICKER,
        "placeholder": _plain("Every project"),
        "min_query_length": 0,
        "max_selected_items": PROJECTS_MAX,
    }
    chosen = [_option(slug, slug) for slug in initial if _SLUG.fullmatch(slug)][:PROJECTS_MAX]
    if chosen:
        element["initial_options"] = chosen
    return _input(
        PROJECTS_BLOCK,
        "Sentry projects",
        element,
        optional=True,
        hint="Leave empty for every project.",
    )


def route_modal(
    target: Target,
    *,
    channel: str | None = None,
    projects: Sequence[str] = (),
    query: str = DEFAULT_QUERY,
    environment: str | None = None,
    mention: Sequence[str] = (),
    group_labels: Mapping[str, str] | None = None,
) -> JSON:
    """The route form, empty for a new route or filled with the route being edited;
    `group_labels` names the user groups among `mention` (`@oncall (On call)`)."""
    query_element: JSON = {
        "type": "plain_text_input",
        "action_id": "query",
        "initial_value": query[:QUERY_MAX] or DEFAULT_QUERY,
        "max_length": QUERY_MAX,
    }
    environment_element: JSON = {
        "type": "plain_text_input",
        "action_id": "environment",
        "max_length": ENVIRONMENT_MAX,
        "placeholder": _plain("Every environment"),
    }
    if environment:
        environment_element["initial_value"] = environment[:ENVIRONMENT_MAX]
    users: JSON = {
        "type": "multi_users_select",
        "action_id": "users",
        "placeholder": _plain("Nobody"),
        "max_selected_items": MENTIONS_MAX,
    }
    initial_users = [m for m in mention if _USER.fullmatch(m)][:MENTIONS_MAX]
    if initial_users:
        users["initial_users"] = initial_users
    groups: JSON = {
        "type": "multi_external_select",
        "action_id": GROUPS_PICKER,
        "placeholder": _plain("No group"),
        "min_query_length": 0,
        "max_selected_items": MENTIONS_MAX,
    }
    labels = group_labels or {}
    initial_groups = [_option(labels.get(m) or m, m) for m in mention if _GROUP.fullmatch(m)][
        :MENTIONS_MAX
    ]
    if initial_groups:
        groups["initial_options"] = initial_groups
    blocks = [
        _channel_input(channel),
        _projects_input(projects),
        _input(
            QUERY_BLOCK,
            "Sentry search",
            query_element,
            hint="Sentry's search syntax, checked with Sentry when you save.",
        ),
        _input(ENVIRONMENT_BLOCK, "Environment", environment_element, optional=True),
        _input(MENTIONS_BLOCK, "Notify on each new issue", users, optional=True),
        _input(GROUPS_BLOCK, "Notify user groups", groups, optional=True),
    ]
    title = "New route" if target.row_id is None else "Edit route"
    return _modal(ROUTE_SAVE, title, "Save", target, blocks)


def frequency_of(cron: str) -> tuple[str, str] | None:
    """("weekdays", "09:00") for a cron the form can show; None for any other expression."""
    match = _CRON.fullmatch(cron.strip())
    if not match:
        return None
    minute, hour, day = match.groups()
    key = next(k for k, _, d in FREQUENCIES if d == day)
    return key, f"{int(hour):02d}:{int(minute):02d}"


def digest_modal(
    target: Target,
    *,
    channel: str | None = None,
    projects: Sequence[str] = (),
    cron: str = "0 9 * * 1-5",
    timezone: str = "UTC",
) -> JSON:
    """The digest form: channel, projects, how often, at what time, in which time zone."""
    frequency, at = frequency_of(cron) or ("weekdays", "09:00")
    options = [_option(label, key) for key, label, _ in FREQUENCIES]
    initial = next(o for o in options if o["value"] == frequency)
    zone = plain(timezone, 75) or "UTC"
    blocks = [
        _channel_input(channel),
        _projects_input(projects),
        _input(
            FREQUENCY_BLOCK,
            "How often",
            {
                "type": "static_select",
                "action_id": "frequency",
                "options": options,
                "initial_option": initial,
            },
        ),
        _input(TIME_BLOCK, "At", {"type": "timepicker", "action_id": "time", "initial_time": at}),
        _input(
            TIMEZONE_BLOCK,
            "Time zone",
            {
                "type": "external_select",
                "action_id": TIMEZONE_PICKER,
                "min_query_length": 1,
                "initial_option": _option(zone, zone),
            },
        ),
    ]
    title = "New digest" if target.row_id is None else "Edit digest"
    return _modal(DIGEST_SAVE, title, "Save", target, blocks)


def remove_modal(target: Target, description: str) -> JSON:
    """ "Remove this route?" with the route in words (already escaped mrkdwn)."""
    callback = ROUTE_REMOVE if target.kind == "route" else DIGEST_REMOVE
    noun = "route" if target.kind == "route" else "digest"
    blocks: list[JSON] = [
        {
            "type": "section",
            "block_id": "what",
            "text": {
                "type": "mrkdwn",
                "text": f"Remove this {noun}?\n{description}"[:3000],
                "verbatim": True,
            },
        }
    ]
    return _modal(callback, f"Remove {noun}", "Remove", target, blocks)


def error_modal(title: str, text: str) -> JSON:
    """A modal that only explains (someone who may not manage routes, a route gone)."""
    return {
        "type": "modal",
        "title": _plain(title[:TITLE_MAX]),
        "close": _plain("Close"),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": mrkdwn(text, 3000), "verbatim": True},
            }
        ],
    }


# ---- readers --------------------------------------------------------------------------------


def _value(state: object, block: str, action: str) -> Mapping[str, Any]:
    values = state.get("values") if isinstance(state, Mapping) else None
    entry = values.get(block) if isinstance(values, Mapping) else None
    item = entry.get(action) if isinstance(entry, Mapping) else None
    return item if isinstance(item, Mapping) else {}


def _channel(state: object, errors: dict[str, str]) -> str:
    channel = _value(state, CHANNEL_BLOCK, "channel").get("selected_conversation")
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        errors[CHANNEL_BLOCK] = "Pick a channel (direct messages cannot hold routes)."
        return ""
    return channel


def _projects(state: object, errors: dict[str, str]) -> tuple[str, ...]:
    chosen = _value(state, PROJECTS_BLOCK, PROJECTS_PICKER).get("selected_options") or []
    slugs: list[str] = []
    if not isinstance(chosen, list):
        chosen = []
    for option in chosen:
        value = option.get("value") if isinstance(option, Mapping) else None
        if not isinstance(value, str) or not _SLUG.fullmatch(value):
            errors[PROJECTS_BLOCK] = "Pick projects from the list."
            return ()
        slugs.append(value)
    if len(slugs) > PROJECTS_MAX:
        errors[PROJECTS_BLOCK] = f"Pick at most {PROJECTS_MAX} projects."
    return tuple(sorted(set(slugs)))


def _text(state: object, block: str, action: str) -> str:
    value = _value(state, block, action).get("value")
    return value.strip() if isinstance(value, str) else ""


def read_route(state: object) -> RouteForm | dict[str, str]:
    """The route form's values, or the error to show on each field that is wrong."""
    errors: dict[str, str] = {}
    channel = _channel(state, errors)
    projects = _projects(state, errors)
    query = " ".join(_text(state, QUERY_BLOCK, "query").split())
    if not query:
        errors[QUERY_BLOCK] = "Enter a Sentry search, such as is:unresolved."
    elif len(query) > QUERY_MAX:
        errors[QUERY_BLOCK] = f"Keep the search under {QUERY_MAX} characters."
    environment = _text(state, ENVIRONMENT_BLOCK, "environment") or None
    if environment is not None and not _ENVIRONMENT.fullmatch(environment):
        errors[ENVIRONMENT_BLOCK] = "An environment name has no spaces or slashes (at most 64)."
    users = _value(state, MENTIONS_BLOCK, "users").get("selected_users") or []
    mention: list[str] = []
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, str) or not _USER.fullmatch(user):
            errors[MENTIONS_BLOCK] = "Pick people from the list."
            break
        mention.append(user)
    if len(mention) > MENTIONS_MAX:
        errors[MENTIONS_BLOCK] = f"Pick at most {MENTIONS_MAX} people."
    chosen = _value(state, GROUPS_BLOCK, GROUPS_PICKER).get("selected_options") or []
    groups: list[str] = []
    for option in chosen if isinstance(chosen, list) else []:
        value = option.get("value") if isinstance(option, Mapping) else None
        if not isinstance(value, str) or not _GROUP.fullmatch(value):
            errors[GROUPS_BLOCK] = "Pick user groups from the list."
            break
        groups.append(value)
    if len(groups) > MENTIONS_MAX:
        errors[GROUPS_BLOCK] = f"Pick at most {MENTIONS_MAX} user groups."
    if errors:
        return errors
    return RouteForm(
        channel, projects, query, environment, tuple(dict.fromkeys([*mention, *groups]))
    )


def read_digest(state: object) -> DigestForm | dict[str, str]:
    """The digest form's values as a cron expression and zone, or the errors per field."""
    errors: dict[str, str] = {}
    channel = _channel(state, errors)
    projects = _projects(state, errors)
    option = _value(state, FREQUENCY_BLOCK, "frequency").get("selected_option")
    key = option.get("value") if isinstance(option, Mapping) else None
    day = next((d for k, _, d in FREQUENCIES if k == key), None)
    if day is None:
        errors[FREQUENCY_BLOCK] = "Pick how often."
    at = _value(state, TIME_BLOCK, "time").get("selected_time")
    time_match = _TIME.fullmatch(at) if isinstance(at, str) else None
    if time_match is None:
        errors[TIME_BLOCK] = "Pick a time."
    zone_option = _value(state, TIMEZONE_BLOCK, TIMEZONE_PICKER).get("selected_option")
    zone = zone_option.get("value") if isinstance(zone_option, Mapping) else None
    if not isinstance(zone, str) or not zone or len(zone) > 64:
        errors[TIMEZONE_BLOCK] = "Pick a time zone."
    if errors or time_match is None or day is None or not isinstance(zone, str):
        return errors
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    return DigestForm(channel, projects, f"{minute} {hour} * * {day}", zone)
