"""Block Kit limits as Slack's server enforces them, as pure functions.

`validate_blocks` returns the complaints Slack puts in an `invalid_blocks` error: one string per
problem, each ending in a JSON pointer, e.g.
``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``
(`slack_examples/web_error_invalid_blocks.json`, a captured Slack answer). An empty list means
Slack would accept the blocks. The fake Slack server uses it for `chat.*`, `views.*` and
`response_url` posts; golden tests use it to assert a rendered card is postable.

Every number comes from Slack's Block Kit reference (docs.slack.dev/reference/block-kit/…) or,
where a page is silent, from the validators of python-slack-sdk (`slack_sdk/models/blocks/`,
`slack_sdk/models/views/`):

- blocks per message 50, per modal 100 (docs.slack.dev/reference/block-kit/blocks);
- `block_id` ≤ 255 and unique within a message; `action_id` ≤ 255 and unique within a block
  (Slack docs: actions block, button element);
- section `text` 1..3000, ≤ 10 `fields` of ≤ 2000 each, `text` or `fields` required (Slack docs:
  section block);
- header `text` plain_text ≤ 150; context ≤ 10 elements; actions ≤ 25 elements (Slack docs:
  header, context and actions blocks);
- button text ≤ 75, value ≤ 2000, url ≤ 3000, style `primary`|`danger` (Slack docs: button
  element; python-slack-sdk `ButtonElement`);
- option text ≤ 75, value ≤ 150, description ≤ 75; static_select ≤ 100 options or ≤ 100 groups of
  ≤ 100 options, group label ≤ 75 (Slack docs: option object, option group object); overflow 2..5
  options (Slack docs: overflow menu element; the minimum of 2 is the older api.slack.com text,
  the stricter of the two); placeholder plain_text ≤ 150 (python-slack-sdk
  `InputInteractiveElement`);
- confirm dialog: title ≤ 100, text ≤ 300, confirm/deny ≤ 30, all required plain_text (Slack
  docs: confirmation dialog object);
- text objects are `plain_text` or `mrkdwn` with 1..3000 characters (Slack docs: text object);
  views: title, submit and close ≤ 24, `private_metadata` ≤ 3000, `callback_id` ≤ 255
  (python-slack-sdk `View`).

The message wording follows what Slack returns where a sample exists ("must be less than N
characters", "must be more than 0 characters", "no more than 50 items allowed",
"missing required field: X", "must provide an object", "`action_id` "x" already exists",
"failed to match all allowed schemas"); elsewhere it is in the same style.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from tests.fakes.blockkit_pickers import picker_errors

Surface = Literal["message", "modal"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100}
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_TEXT_OBJECT = 3000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACCESSIBILITY_LABEL = 75
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_SELECT_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OPTION_GROUP_LABEL = 75
MIN_OVERFLOW_OPTIONS = 2
MAX_OVERFLOW_OPTIONS = 5
MAX_PLACEHOLDER = 150
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_IMAGE_ALT_TEXT = 2000
MAX_INPUT_LABEL = 2000
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
SELECT_TYPES = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
OTHER_INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "workflow_button",
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_text_input",
        "rich_text_input",
        "file_input",
    }
)
INTERACTIVE_TYPES = SELECT_TYPES | OTHER_INTERACTIVE_TYPES
ACCESSORY_TYPES = (SELECT_TYPES | OTHER_INTERACTIVE_TYPES | {"image"}) - {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_text_input",
    "rich_text_input",
    "file_input",
}
# Pickers whose own fields `blockkit_pickers.py` checks.
PICKER_TYPES = (SELECT_TYPES - {"static_select", "multi_static_select"}) | {"timepicker"}
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})


def validate_blocks(blocks: list[dict[str, Any]], *, surface: Surface = "message") -> list[str]:
    """Every reason Slack would refuse `blocks` on `surface`, in document order (empty if none)."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return [_err("must provide an array", "/blocks")]
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        errors.append(_err(f"no more than {limit} items allowed", "/blocks"))
    if surface == "modal" and not blocks:
        errors.append(_err("must provide at least 1 items", "/blocks"))
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"/blocks/{index}"
        if not isinstance(block, Mapping):
            errors.append(_err("must provide an object", pointer))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            id_errors = _string(block_id, f"{pointer}/block_id", max_len=MAX_BLOCK_ID)
            errors += id_errors
            if not id_errors:
                if block_id in seen_block_ids:
                    errors.append(
                        _err(f'`block_id` "{block_id}" already exists', f"{pointer}/block_id")
                    )
                seen_block_ids.add(block_id)
        errors += _block(block, pointer)
    return errors


def validate_view(view: Mapping[str, Any]) -> list[str]:
    """Reasons Slack would refuse a modal view (`views.open` / `views.update`), pointers rooted at
    the view object (`/blocks/0/...`, `/title/text`) as `views.open` reports them."""
    if not isinstance(view, Mapping):
        return [_err("must provide an object", "")]
    errors: list[str] = []
    if view.get("type") not in {"modal", "home"}:
        errors.append(_err("must be a valid enum value", "/type"))
    if view.get("type") == "modal":
        errors += _required_text(view, "title", "", MAX_VIEW_TITLE, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            errors += _text(view[key], f"/{key}", MAX_VIEW_BUTTON, plain_only=True)
    if "private_metadata" in view:
        errors += _string(
            view["private_metadata"], "/private_metadata", max_len=MAX_PRIVATE_METADATA, min_len=0
        )
    if "callback_id" in view:
        errors += _string(view["callback_id"], "/callback_id", max_len=MAX_CALLBACK_ID, min_len=0)
    if "blocks" not in view:
        errors.append(_err("missing required field: blocks", ""))
    else:
        errors += validate_blocks(view["blocks"], surface="modal")
    return errors


def _err(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _string(value: Any, pointer: str, *, max_len: int, min_len: int = 1) -> list[str]:
    if not isinstance(value, str):
        return [_err("must be a string", pointer)]
    if len(value) < min_len:
        return [_err(f"must be more than {min_len - 1} characters", pointer)]
    if len(value) > max_len:
        return [_err(f"must be less than {max_len + 1} characters", pointer)]
    return []


def _array(
    value: Any, pointer: str, *, max_items: int, min_items: int = 1
) -> tuple[list[Any], list[str]]:
    if not isinstance(value, list):
        return [], [_err("must provide an array", pointer)]
    if len(value) > max_items:
        return value, [_err(f"no more than {max_items} items allowed", pointer)]
    if len(value) < min_items:
        return value, [_err(f"must provide at least {min_items} items", pointer)]
    return value, []


def _text(
    obj: Any, pointer: str, max_len: int, *, plain_only: bool = False, union: bool = False
) -> list[str]:
    """A text object; `union` marks places where Slack accepts plain_text or mrkdwn and so also
    reports the failed schema match on the object itself (as in the invalid_blocks sample)."""
    if not isinstance(obj, Mapping):
        return [_err("must provide an object", pointer)]
    errors: list[str] = []
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if kind is None:
        errors.append(_err("missing required field: type", pointer))
    elif kind not in allowed:
        errors.append(_err("must be a valid enum value", f"{pointer}/type"))
    if "text" not in obj:
        errors.append(_err("missing required field: text", pointer))
    else:
        errors += _string(obj["text"], f"{pointer}/text", max_len=min(max_len, MAX_TEXT_OBJECT))
    if errors and union:
        errors.insert(0, _err("failed to match all allowed schemas", pointer))
    return errors


def _required_text(
    parent: Mapping[str, Any],
    key: str,
    pointer: str,
    max_len: int,
    *,
    plain_only: bool = False,
    union: bool = False,
) -> list[str]:
    if key not in parent:
        return [_err(f"missing required field: {key}", pointer)]
    return _text(parent[key], f"{pointer}/{key}", max_len, plain_only=plain_only, union=union)


def _block(block: Mapping[str, Any], pointer: str) -> list[str]:
    kind = block.get("type")
    if kind is None:
        return [_err("missing required field: type", pointer)]
    if kind not in BLOCK_TYPES:
        return [_err("failed to match all allowed schemas", pointer)]
    if kind == "section":
        return _section(block, pointer)
    if kind == "header":
        return _required_text(block, "text", pointer, MAX_HEADER_TEXT, plain_only=True)
    if kind == "context":
        return _context(block, pointer)
    if kind == "actions":
        return _actions(block, pointer)
    if kind == "image":
        return _image(block, pointer)
    if kind == "input":
        return _input(block, pointer)
    return []


def _section(block: Mapping[str, Any], pointer: str) -> list[str]:
    errors: list[str] = []
    if "text" not in block and "fields" not in block:
        errors.append(_err("missing required field: text", pointer))
    if "text" in block:
        errors += _text(block["text"], f"{pointer}/text", MAX_SECTION_TEXT, union=True)
    if "fields" in block:
        fields, array_errors = _array(
            block["fields"], f"{pointer}/fields", max_items=MAX_SECTION_FIELDS
        )
        errors += array_errors
        for i, field in enumerate(fields):
            errors += _text(field, f"{pointer}/fields/{i}", MAX_SECTION_FIELD_TEXT, union=True)
    if "accessory" in block:
        accessory = block["accessory"]
        accessory_pointer = f"{pointer}/accessory"
        if isinstance(accessory, Mapping) and accessory.get("type") not in ACCESSORY_TYPES:
            errors.append(_err("failed to match all allowed schemas", accessory_pointer))
        else:
            errors += _element(accessory, accessory_pointer, set())
    return errors


def _context(block: Mapping[str, Any], pointer: str) -> list[str]:
    if "elements" not in block:
        return [_err("missing required field: elements", pointer)]
    elements, errors = _array(
        block["elements"], f"{pointer}/elements", max_items=MAX_CONTEXT_ELEMENTS
    )
    for i, element in enumerate(elements):
        element_pointer = f"{pointer}/elements/{i}"
        if isinstance(element, Mapping) and element.get("type") == "image":
            errors += _image_element(element, element_pointer)
        else:
            errors += _text(element, element_pointer, MAX_TEXT_OBJECT, union=True)
    return errors


def _actions(block: Mapping[str, Any], pointer: str) -> list[str]:
    if "elements" not in block:
        return [_err("missing required field: elements", pointer)]
    elements, errors = _array(
        block["elements"], f"{pointer}/elements", max_items=MAX_ACTIONS_ELEMENTS
    )
    seen_action_ids: set[str] = set()
    for i, element in enumerate(elements):
        element_pointer = f"{pointer}/elements/{i}"
        if isinstance(element, Mapping) and element.get("type") not in INTERACTIVE_TYPES:
            errors.append(_err("failed to match all allowed schemas", element_pointer))
            continue
        errors += _element(element, element_pointer, seen_action_ids)
    return errors


def _image(block: Mapping[str, Any], pointer: str) -> list[str]:
    errors = _image_element(block, pointer)
    if "title" in block:
        errors += _text(block["title"], f"{pointer}/title", MAX_IMAGE_ALT_TEXT, plain_only=True)
    return errors


def _image_element(element: Mapping[str, Any], pointer: str) -> list[str]:
    errors: list[str] = []
    if "image_url" not in element and "slack_file" not in element:
        errors.append(_err("missing required field: image_url", pointer))
    if "image_url" in element:
        errors += _string(element["image_url"], f"{pointer}/image_url", max_len=MAX_URL)
    if "alt_text" not in element:
        errors.append(_err("missing required field: alt_text", pointer))
    else:
        errors += _string(element["alt_text"], f"{pointer}/alt_text", max_len=MAX_IMAGE_ALT_TEXT)
    return errors


def _input(block: Mapping[str, Any], pointer: str) -> list[str]:
    errors = _required_text(block, "label", pointer, MAX_INPUT_LABEL, plain_only=True)
    if "hint" in block:
        errors += _text(block["hint"], f"{pointer}/hint", MAX_INPUT_LABEL, plain_only=True)
    if "element" not in block:
        errors.append(_err("missing required field: element", pointer))
    else:
        errors += _element(block["element"], f"{pointer}/element", set())
    return errors


def _element(element: Any, pointer: str, seen_action_ids: set[str]) -> list[str]:
    if not isinstance(element, Mapping):
        return [_err("must provide an object", pointer)]
    kind = element.get("type")
    if kind is None:
        return [_err("missing required field: type", pointer)]
    if kind == "image":
        return _image_element(element, pointer)
    if kind not in INTERACTIVE_TYPES:
        return [_err("failed to match all allowed schemas", pointer)]
    errors: list[str] = []
    if "action_id" in element:
        action_id = element["action_id"]
        id_errors = _string(action_id, f"{pointer}/action_id", max_len=MAX_ACTION_ID)
        errors += id_errors
        if not id_errors:
            if action_id in seen_action_ids:
                errors.append(
                    _err(f'`action_id` "{action_id}" already exists', f"{pointer}/action_id")
                )
            seen_action_ids.add(action_id)
    if "confirm" in element:
        errors += _confirm(element["confirm"], f"{pointer}/confirm")
    if "placeholder" in element:
        errors += _text(
            element["placeholder"], f"{pointer}/placeholder", MAX_PLACEHOLDER, plain_only=True
        )
    if kind == "button":
        errors += _button(element, pointer)
    elif kind == "overflow":
        errors += _options(
            element,
            pointer,
            min_items=MIN_OVERFLOW_OPTIONS,
            max_items=MAX_OVERFLOW_OPTIONS,
            allow_url=True,
        )
    elif kind in {"static_select", "multi_static_select"}:
        errors += _static_select(element, pointer)
    elif kind in {"checkboxes", "radio_buttons"}:
        errors += _options(element, pointer, min_items=1, max_items=10, mrkdwn=True)
    if kind in PICKER_TYPES:
        errors += picker_errors(
            kind, element, pointer, lambda o, p: _option(o, p, allow_url=False, mrkdwn=False)
        )
    return errors


def _button(element: Mapping[str, Any], pointer: str) -> list[str]:
    errors = _required_text(element, "text", pointer, MAX_BUTTON_TEXT, plain_only=True)
    if "value" in element:
        errors += _string(element["value"], f"{pointer}/value", max_len=MAX_BUTTON_VALUE)
    if "url" in element:
        errors += _string(element["url"], f"{pointer}/url", max_len=MAX_URL)
    if "style" in element and element["style"] not in BUTTON_STYLES:
        errors.append(_err("must be a valid enum value", f"{pointer}/style"))
    if "accessibility_label" in element:
        errors += _string(
            element["accessibility_label"],
            f"{pointer}/accessibility_label",
            max_len=MAX_ACCESSIBILITY_LABEL,
        )
    return errors


def _static_select(element: Mapping[str, Any], pointer: str) -> list[str]:
    has_options = "options" in element
    has_groups = "option_groups" in element
    if has_options == has_groups:
        return [_err("must provide exactly one of options or option_groups", pointer)]
    if has_options:
        return _options(element, pointer, min_items=1, max_items=MAX_SELECT_OPTIONS)
    groups, errors = _array(
        element["option_groups"], f"{pointer}/option_groups", max_items=MAX_OPTION_GROUPS
    )
    for i, group in enumerate(groups):
        group_pointer = f"{pointer}/option_groups/{i}"
        if not isinstance(group, Mapping):
            errors.append(_err("must provide an object", group_pointer))
            continue
        errors += _required_text(
            group, "label", group_pointer, MAX_OPTION_GROUP_LABEL, plain_only=True
        )
        errors += _options(group, group_pointer, min_items=1, max_items=MAX_SELECT_OPTIONS)
    return errors


def _options(
    parent: Mapping[str, Any],
    pointer: str,
    *,
    min_items: int,
    max_items: int,
    allow_url: bool = False,
    mrkdwn: bool = False,
) -> list[str]:
    if "options" not in parent:
        return [_err("missing required field: options", pointer)]
    options, errors = _array(
        parent["options"], f"{pointer}/options", max_items=max_items, min_items=min_items
    )
    for i, option in enumerate(options):
        errors += _option(option, f"{pointer}/options/{i}", allow_url=allow_url, mrkdwn=mrkdwn)
    return errors


def _option(option: Any, pointer: str, *, allow_url: bool, mrkdwn: bool) -> list[str]:
    if not isinstance(option, Mapping):
        return [_err("must provide an object", pointer)]
    errors = _required_text(option, "text", pointer, MAX_OPTION_TEXT, plain_only=not mrkdwn)
    if "value" not in option:
        errors.append(_err("missing required field: value", pointer))
    else:
        errors += _string(option["value"], f"{pointer}/value", max_len=MAX_OPTION_VALUE)
    if "description" in option:
        errors += _text(
            option["description"], f"{pointer}/description", MAX_OPTION_DESCRIPTION, union=True
        )
    if "url" in option:
        if allow_url:
            errors += _string(option["url"], f"{pointer}/url", max_len=MAX_URL)
        else:
            errors.append(_err("invalid additional property: url", pointer))
    return errors


def _confirm(confirm: Any, pointer: str) -> list[str]:
    if not isinstance(confirm, Mapping):
        return [_err("must provide an object", pointer)]
    errors = _required_text(confirm, "title", pointer, MAX_CONFIRM_TITLE, plain_only=True)
    errors += _required_text(confirm, "text", pointer, MAX_CONFIRM_TEXT, plain_only=True)
    errors += _required_text(confirm, "confirm", pointer, MAX_CONFIRM_BUTTON, plain_only=True)
    errors += _required_text(confirm, "deny", pointer, MAX_CONFIRM_BUTTON, plain_only=True)
    if "style" in confirm and confirm["style"] not in BUTTON_STYLES:
        errors.append(_err("must be a valid enum value", f"{pointer}/style"))
    return errors
