"""Block Kit rules for the pickers of forms: conversation, user and external selects, and the
time picker, as pure functions returning Slack's `invalid_blocks` complaints (the wording and
pointer style of `blockkit_rules.py`).

Sources: Slack's Block Kit reference (docs.slack.dev/reference/block-kit/block-elements/…:
select menu elements, multi-select menu elements, time picker element; composition objects:
conversation filter object) and python-slack-sdk `slack_sdk/models/blocks/block_elements.py`
(`ConversationFilter`, `ExternalDataSelectElement`, `TimePickerElement`, the `max_selected_items`
and `min_query_length` attributes):

- conversation filter: an object with at least one of `include`, `exclude_external_shared_channels`,
  `exclude_bot_users`; `include` a non-empty list of `im`, `mpim`, `private`, `public`; the two
  flags booleans;
- multi-selects: `max_selected_items` an integer of at least 1; `initial_users`,
  `initial_conversations`, `initial_channels` lists of ids; `initial_options` option objects;
- external selects: `min_query_length` an integer of at least 0; `initial_option(s)` option
  objects; no `options` of their own (options come from the app's block_suggestion answer);
- single user / conversation / channel selects: `initial_user` / `initial_conversation` /
  `initial_channel` an id string;
- time picker: `initial_time` in `HH:mm` (24-hour).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

FILTER_INCLUDE = frozenset({"im", "mpim", "private", "public"})
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")

OptionCheck = Callable[[Any, str], list[str]]


def _err(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _ids(value: Any, pointer: str) -> list[str]:
    if not isinstance(value, list):
        return [_err("must provide an array", pointer)]
    return [
        _err("must be a string", f"{pointer}/{i}")
        for i, item in enumerate(value)
        if not isinstance(item, str) or not item
    ]


def _int_at_least(element: Mapping[str, Any], key: str, least: int, pointer: str) -> list[str]:
    if key not in element:
        return []
    value = element[key]
    if isinstance(value, bool) or not isinstance(value, int):
        return [_err("must be an integer", f"{pointer}/{key}")]
    if value < least:
        return [_err(f"must be at least {least}", f"{pointer}/{key}")]
    return []


def _filter(value: Any, pointer: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [_err("must provide an object", pointer)]
    known = {"include", "exclude_external_shared_channels", "exclude_bot_users"}
    if not known & set(value):
        return [_err("must provide at least one of include, exclude_*", pointer)]
    errors: list[str] = []
    if "include" in value:
        include = value["include"]
        if not isinstance(include, list) or not include:
            errors.append(_err("must provide a non-empty array", f"{pointer}/include"))
        else:
            errors += [
                _err("must be a valid enum value", f"{pointer}/include/{i}")
                for i, kind in enumerate(include)
                if kind not in FILTER_INCLUDE
            ]
    for flag in ("exclude_external_shared_channels", "exclude_bot_users"):
        if flag in value and not isinstance(value[flag], bool):
            errors.append(_err("must be a boolean", f"{pointer}/{flag}"))
    return errors


def picker_errors(
    kind: str, element: Mapping[str, Any], pointer: str, option: OptionCheck
) -> list[str]:
    """Complaints about one picker element; `option` checks one option object."""
    errors: list[str] = []
    if kind.startswith("multi_"):
        errors += _int_at_least(element, "max_selected_items", 1, pointer)
    if kind in {"conversations_select", "multi_conversations_select"} and "filter" in element:
        errors += _filter(element["filter"], f"{pointer}/filter")
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if key in element and (not isinstance(element[key], str) or not element[key]):
            errors.append(_err("must be a string", f"{pointer}/{key}"))
    for key in ("initial_users", "initial_conversations", "initial_channels"):
        if key in element:
            errors += _ids(element[key], f"{pointer}/{key}")
    if kind in {"external_select", "multi_external_select"}:
        errors += _int_at_least(element, "min_query_length", 0, pointer)
        if "options" in element or "option_groups" in element:
            errors.append(_err("invalid additional property: options", pointer))
        if "initial_option" in element:
            errors += option(element["initial_option"], f"{pointer}/initial_option")
        if "initial_options" in element:
            chosen = element["initial_options"]
            if not isinstance(chosen, list):
                errors.append(_err("must provide an array", f"{pointer}/initial_options"))
            else:
                for i, item in enumerate(chosen):
                    errors += option(item, f"{pointer}/initial_options/{i}")
    if kind == "timepicker" and "initial_time" in element:
        value = element["initial_time"]
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            errors.append(_err("must match the format HH:mm", f"{pointer}/initial_time"))
    return errors
