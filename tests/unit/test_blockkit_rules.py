"""Block Kit limit rules: each of Slack's Block Kit limits at the limit and one past it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.blockkit_rules import validate_blocks, validate_view

EXAMPLES = Path(__file__).parents[1] / "fakes" / "slack_examples"


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def button(action_id: str = "a", text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(text), **extra}


def option(text: str = "One", value: str = "1") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def confirm(**overrides: Any) -> dict[str, Any]:
    base = {
        "title": plain("Sure?"),
        "text": plain("This deletes it."),
        "confirm": plain("Yes"),
        "deny": plain("No"),
    }
    return {**base, **overrides}


def test_a_typical_card_is_valid() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("ZeroDivisionError")},
        {
            "type": "section",
            "block_id": "summary",
            "text": mrkdwn("*<https://sentry.io/i/1|division by zero>*"),
            "fields": [mrkdwn("*Events*\n12"), mrkdwn("*Users*\n3")],
            "accessory": button("issue.open", "Open", url="https://sentry.io/i/1"),
        },
        {"type": "context", "elements": [mrkdwn("first seen 2h ago")]},
        {"type": "divider"},
        actions(
            button("issue.resolve", "Resolve", style="primary", value="v1:1"),
            {
                "type": "overflow",
                "action_id": "issue.ignore",
                "options": [option("30 minutes", "30m"), option("Forever", "forever")],
            },
            {
                "type": "static_select",
                "action_id": "issue.assign",
                "placeholder": plain("Assign"),
                "options": [option("me", "me")],
                "confirm": confirm(),
            },
            {"type": "users_select", "action_id": "issue.assign_user"},
        ),
    ]
    assert validate_blocks(blocks) == []


@pytest.mark.parametrize(
    "name",
    [
        "block_actions_button_message.json",
        "block_actions_static_select_message.json",
        "block_actions_overflow_message.json",
        "block_actions_users_select_message.json",
    ],
)
def test_reference_messages_are_valid(name: str) -> None:
    message = json.loads((EXAMPLES / name).read_text())["message"]
    assert validate_blocks(message["blocks"]) == []


def test_section_text_over_3000_matches_slacks_error() -> None:
    sample = json.loads((EXAMPLES / "web_error_invalid_blocks.json").read_text())
    assert validate_blocks([section("x" * 3001)]) == sample["body"]["errors"]
    assert validate_blocks([section("x" * 3000)]) == []


def test_empty_text_objects_are_refused() -> None:
    assert "must be more than 0 characters [json-pointer:/blocks/0/text/text]" in validate_blocks(
        [section("")]
    )
    assert validate_blocks([{"type": "context", "elements": [mrkdwn("")]}]) == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/elements/0]",
        "must be more than 0 characters [json-pointer:/blocks/0/elements/0/text]",
    ]


def test_block_count_per_surface() -> None:
    assert validate_blocks([{"type": "divider"}] * 50) == []
    assert validate_blocks([{"type": "divider"}] * 51) == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]
    assert validate_blocks([{"type": "divider"}] * 100, surface="modal") == []
    assert validate_blocks([{"type": "divider"}] * 101, surface="modal") == [
        "no more than 100 items allowed [json-pointer:/blocks]"
    ]


def test_section_fields() -> None:
    ok = {"type": "section", "fields": [mrkdwn("f")] * 10}
    assert validate_blocks([ok]) == []
    assert validate_blocks([{"type": "section", "fields": [mrkdwn("f")] * 11}]) == [
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]"
    ]
    long_field = {"type": "section", "fields": [mrkdwn("f" * 2001)]}
    assert "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]" in (
        validate_blocks([long_field])
    )
    assert validate_blocks([{"type": "section", "fields": [mrkdwn("f" * 2000)]}]) == []
    assert validate_blocks([{"type": "section"}]) == [
        "missing required field: text [json-pointer:/blocks/0]"
    ]


def test_header_is_plain_text_up_to_150() -> None:
    assert validate_blocks([{"type": "header", "text": plain("h" * 150)}]) == []
    assert validate_blocks([{"type": "header", "text": plain("h" * 151)}]) == [
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert validate_blocks([{"type": "header", "text": mrkdwn("h")}]) == [
        "must be a valid enum value [json-pointer:/blocks/0/text/type]"
    ]


def test_context_and_actions_element_counts() -> None:
    assert validate_blocks([{"type": "context", "elements": [mrkdwn("c")] * 10}]) == []
    assert validate_blocks([{"type": "context", "elements": [mrkdwn("c")] * 11}]) == [
        "no more than 10 items allowed [json-pointer:/blocks/0/elements]"
    ]
    ok = [button(f"a{i}") for i in range(25)]
    assert validate_blocks([actions(*ok)]) == []
    too_many = [button(f"a{i}") for i in range(26)]
    assert validate_blocks([actions(*too_many)]) == [
        "no more than 25 items allowed [json-pointer:/blocks/0/elements]"
    ]


def test_block_id_length_and_uniqueness() -> None:
    assert validate_blocks([{"type": "divider", "block_id": "b" * 255}]) == []
    assert validate_blocks([{"type": "divider", "block_id": "b" * 256}]) == [
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]"
    ]
    twice = [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}]
    assert validate_blocks(twice) == [
        '`block_id` "x" already exists [json-pointer:/blocks/1/block_id]'
    ]


def test_action_id_length_and_uniqueness_within_a_block() -> None:
    assert validate_blocks([actions(button("a" * 255))]) == []
    assert validate_blocks([actions(button("a" * 256))]) == [
        "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]"
    ]
    assert validate_blocks([actions(button("a"), button("a"))]) == [
        '`action_id` "a" already exists [json-pointer:/blocks/0/elements/1/action_id]'
    ]
    assert validate_blocks([actions(button("a")), actions(button("a"))]) == []


def test_button_limits() -> None:
    assert validate_blocks([actions(button(text="t" * 75, value="v" * 2000, url="u" * 3000))]) == []
    errors = validate_blocks(
        [actions(button(text="t" * 76, value="v" * 2001, url="u" * 3001, style="warning"))]
    )
    assert errors == [
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
        "must be a valid enum value [json-pointer:/blocks/0/elements/0/style]",
    ]
    assert validate_blocks([actions(button(text=""))]) == [
        "must be more than 0 characters [json-pointer:/blocks/0/elements/0/text/text]"
    ]


def test_option_and_select_limits() -> None:
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "s",
        "options": [option("o" * 75, "v" * 150)],
    }
    assert validate_blocks([actions(select)]) == []
    select["options"] = [option("o" * 76, "v" * 151)]
    assert validate_blocks([actions(select)]) == [
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
    ]
    select["options"] = [option(value=str(i)) for i in range(101)]
    assert validate_blocks([actions(select)]) == [
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]"
    ]
    select["placeholder"] = plain("p" * 151)
    select["options"] = [option()]
    assert validate_blocks([actions(select)]) == [
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/placeholder/text]"
    ]


def test_overflow_takes_two_to_five_options() -> None:
    def overflow(n: int) -> dict[str, Any]:
        return {"type": "overflow", "action_id": "o", "options": [option()] * n}

    assert validate_blocks([actions(overflow(2))]) == []
    assert validate_blocks([actions(overflow(5))]) == []
    assert validate_blocks([actions(overflow(1))]) == [
        "must provide at least 2 items [json-pointer:/blocks/0/elements/0/options]"
    ]
    assert validate_blocks([actions(overflow(6))]) == [
        "no more than 5 items allowed [json-pointer:/blocks/0/elements/0/options]"
    ]


def test_confirm_dialog_limits() -> None:
    ok = confirm(
        title=plain("t" * 100), text=plain("x" * 300), confirm=plain("c" * 30), deny=plain("d" * 30)
    )
    assert validate_blocks([actions(button(confirm=ok))]) == []
    bad = confirm(
        title=plain("t" * 101), text=plain("x" * 301), confirm=plain("c" * 31), deny=plain("d" * 31)
    )
    pointer = "/blocks/0/elements/0/confirm"
    assert validate_blocks([actions(button(confirm=bad))]) == [
        f"must be less than 101 characters [json-pointer:{pointer}/title/text]",
        f"must be less than 301 characters [json-pointer:{pointer}/text/text]",
        f"must be less than 31 characters [json-pointer:{pointer}/confirm/text]",
        f"must be less than 31 characters [json-pointer:{pointer}/deny/text]",
    ]
    missing = {"title": plain("t"), "text": plain("x")}
    assert validate_blocks([actions(button(confirm=missing))]) == [
        f"missing required field: confirm [json-pointer:{pointer}]",
        f"missing required field: deny [json-pointer:{pointer}]",
    ]


def test_unknown_block_and_element_types() -> None:
    assert validate_blocks([{"type": "carousel"}]) == [
        "failed to match all allowed schemas [json-pointer:/blocks/0]"
    ]
    assert validate_blocks([actions({"type": "slider", "action_id": "s"})]) == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/elements/0]"
    ]
    assert validate_blocks(
        [{"type": "section", "text": mrkdwn("t"), "accessory": {"type": "plain_text_input"}}]
    ) == ["failed to match all allowed schemas [json-pointer:/blocks/0/accessory]"]


def test_text_object_type_must_be_known() -> None:
    assert validate_blocks([{"type": "section", "text": {"type": "html", "text": "x"}}]) == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
        "must be a valid enum value [json-pointer:/blocks/0/text/type]",
    ]
    assert validate_blocks([{"type": "section", "text": "bare string"}]) == [
        "must provide an object [json-pointer:/blocks/0/text]"
    ]


def test_modal_view_limits() -> None:
    view = json.loads((EXAMPLES / "view_submission.json").read_text())["view"]
    assert validate_view(view) == []
    view = {**view, "title": plain("t" * 25), "private_metadata": "m" * 3001}
    assert validate_view(view) == [
        "must be less than 25 characters [json-pointer:/title/text]",
        "must be less than 3001 characters [json-pointer:/private_metadata]",
    ]
