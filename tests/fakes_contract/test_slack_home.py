"""The test Slack's `views.publish` refuses what Slack refuses, the way Slack does (rules H1-H8
of tests/fakes/README.md), and keeps one Home view per person, replaced by each publish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.slack_server import FakeSlack

ANA = "U0ANA0001"
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_user(ANA, "ana@example.com", "ana")
        fake.add_user("U0GONE001", "gone@example.com", "gone", deleted=True)
        yield fake


def publish(slack: FakeSlack, args: dict[str, Any], *, form: bool = False) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    url = slack.api_url + "views.publish"
    if form:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}
        response = httpx.post(url, data=data, headers=headers, timeout=5)
    else:
        response = httpx.post(url, json=args, headers=headers, timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def section(n: int) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"line {n}"}}


def test_publishing_replaces_the_persons_home_view(slack: FakeSlack) -> None:
    first = publish(slack, {"user_id": ANA, "view": HOME})
    assert first["ok"] is True
    assert first["view"]["type"] == "home"
    assert first["view"]["blocks"] == HOME["blocks"]
    second = publish(slack, {"user_id": ANA, "view": {**HOME, "blocks": [section(2)]}}, form=True)
    assert second["view"]["id"] == first["view"]["id"]
    assert second["view"]["hash"] != first["view"]["hash"]
    home = slack.home_view(ANA)
    assert home is not None
    assert home.view["blocks"] == [section(2)]
    assert len(home.published) >= 2


@pytest.mark.parametrize(
    ("args", "error", "extra"),
    [
        # H1: required arguments (as every method: brekkylab/backlot#84)
        (
            {"view": HOME},
            "invalid_arguments",
            {"response_metadata": {"messages": ["[ERROR] missing required field: user_id"]}},
        ),
        (
            {"user_id": ANA},
            "invalid_arguments",
            {"response_metadata": {"messages": ["[ERROR] missing required field: view"]}},
        ),
        # H2: a user the workspace does not have (Slack docs views.publish: invalid_arguments)
        (
            {"user_id": "U0NOBODY1", "view": HOME},
            "invalid_arguments",
            {"response_metadata": {"messages": ["invalid `user_id`"]}},
        ),
        (
            {"user_id": "U0GONE001", "view": HOME},
            "invalid_arguments",
            {"response_metadata": {"messages": ["invalid `user_id`"]}},
        ),
        # H3: a view that is not a Home view
        ({"user_id": ANA, "view": {**HOME, "type": "modal"}}, "invalid_arguments", {}),
        # H4: over 100 blocks (Slack docs: home-tab-views, "up to 100 blocks")
        (
            {"user_id": ANA, "view": {"type": "home", "blocks": [section(n) for n in range(101)]}},
            "invalid_blocks",
            {},
        ),
        # H5: Block Kit limits as for messages and modals
        (
            {
                "user_id": ANA,
                "view": {
                    "type": "home",
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
                },
            },
            "invalid_blocks",
            {},
        ),
        # H6: over 250 kB (Slack docs views.publish: view_too_large)
        (
            {
                "user_id": ANA,
                "view": {
                    "type": "home",
                    "blocks": [section(1)],
                    "private_metadata": "",
                    "padding": "x" * 250_001,
                },
            },
            "view_too_large",
            {},
        ),
        # H7: a stale hash (Slack docs views.publish: hash_conflict)
        ({"user_id": ANA, "view": HOME, "hash": "1.stale"}, "hash_conflict", {}),
    ],
    ids=[
        "no_user_id",
        "no_view",
        "unknown_user",
        "deleted_user",
        "not_home",
        "101_blocks",
        "long_text",
        "too_large",
        "stale_hash",
    ],
)
def test_refusal(slack: FakeSlack, args: dict[str, Any], error: str, extra: dict[str, Any]) -> None:
    before = slack.home_view(ANA)
    body = publish(slack, args)
    assert body["ok"] is False
    assert body["error"] == error
    for key, value in extra.items():
        assert body[key] == value
    after = slack.home_view(ANA)
    assert (after.view if after else None) == (before.view if before else None)


def test_the_current_hash_is_accepted(slack: FakeSlack) -> None:
    current = publish(slack, {"user_id": ANA, "view": HOME})["view"]["hash"]
    assert publish(slack, {"user_id": ANA, "view": HOME, "hash": current})["ok"] is True


def test_a_disabled_home_tab_is_not_enabled() -> None:
    # H8: the app's Home tab is off in its settings (Slack docs views.publish: not_enabled)
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_user(ANA, "ana@example.com", "ana")
        fake.set_home_tab_enabled(False)
        body = publish(fake, {"user_id": ANA, "view": HOME})
    assert body == {"ok": False, "error": "not_enabled"}


def modal(element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Form"},
        "blocks": [
            {
                "type": "input",
                "block_id": "b",
                "label": {"type": "plain_text", "text": "Pick"},
                "element": {"action_id": "a", **element},
            }
        ],
    }


def open_modal(slack: FakeSlack, view: dict[str, Any], trigger: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    response = httpx.post(
        slack.api_url + "views.open",
        json={"trigger_id": trigger, "view": view},
        headers=headers,
        timeout=5,
    )
    body: dict[str, Any] = response.json()
    return body


PICKERS_OK = [
    {"type": "conversations_select", "filter": {"include": ["public", "private"]}},
    {"type": "multi_users_select", "max_selected_items": 20, "initial_users": ["U0ANA0001"]},
    {
        "type": "multi_external_select",
        "min_query_length": 0,
        "initial_options": [{"text": {"type": "plain_text", "text": "web"}, "value": "web"}],
    },
    {"type": "timepicker", "initial_time": "09:30"},
]

PICKERS_REFUSED = {
    # P1: the conversation filter's `include` names conversation types only, and is not empty
    "filter_unknown_type": {"type": "conversations_select", "filter": {"include": ["dm"]}},
    "filter_empty_include": {"type": "conversations_select", "filter": {"include": []}},
    # P2: a filter with none of its fields
    "filter_empty": {"type": "conversations_select", "filter": {}},
    # P3: `max_selected_items` at least 1
    "max_selected_zero": {"type": "multi_users_select", "max_selected_items": 0},
    # P4: an external select takes no options of its own, and valid initial options
    "external_with_options": {
        "type": "external_select",
        "options": [{"text": {"type": "plain_text", "text": "x"}, "value": "x"}],
    },
    "external_bad_initial": {"type": "external_select", "initial_option": {"value": "x"}},
    "min_query_negative": {"type": "external_select", "min_query_length": -1},
    # P5: a time picker's initial time is HH:mm
    "time_not_hh_mm": {"type": "timepicker", "initial_time": "9:30am"},
}


@pytest.mark.parametrize("element", PICKERS_OK, ids=[e["type"] for e in PICKERS_OK])
def test_pickers_slack_accepts_open(slack: FakeSlack, element: dict[str, Any]) -> None:
    body = open_modal(slack, modal(element), f"ok.{element['type']}")
    assert body["ok"] is True, body


@pytest.mark.parametrize("name", sorted(PICKERS_REFUSED))
def test_pickers_slack_refuses_are_invalid_blocks(slack: FakeSlack, name: str) -> None:
    body = open_modal(slack, modal(PICKERS_REFUSED[name]), f"bad.{name}")
    assert body["ok"] is False
    assert body["error"] == "invalid_blocks"
    assert all("/blocks/0/element" in e for e in body["errors"])


def test_user_groups_are_listed_without_disabled_ones_and_need_their_scope() -> None:
    # U1, U2: usergroups.list (Slack docs: usergroups.list; scope usergroups:read)
    with FakeSlack(ts_base=1_700_000_000) as fake:
        fake.add_usergroup("S0ONCALL1", "oncall", "On call", users=[ANA])
        fake.add_usergroup("S0OLDGRP1", "old", "Old", disabled=True)
        headers = {"Authorization": f"Bearer {fake.bot_token}"}
        listed = httpx.post(fake.api_url + "usergroups.list", json={}, headers=headers).json()
        everything = httpx.post(
            fake.api_url + "usergroups.list",
            json={"include_disabled": True, "include_users": True},
            headers=headers,
        ).json()
        fake.set_scopes(["chat:write"])
        refused = httpx.post(fake.api_url + "usergroups.list", json={}, headers=headers).json()
    assert [g["handle"] for g in listed["usergroups"]] == ["oncall"]
    assert "users" not in listed["usergroups"][0]
    assert [g["id"] for g in everything["usergroups"]] == ["S0ONCALL1", "S0OLDGRP1"]
    assert everything["usergroups"][0]["users"] == [ANA]
    assert refused == {
        "ok": False,
        "error": "missing_scope",
        "needed": "usergroups:read",
        "provided": "chat:write",
    }
