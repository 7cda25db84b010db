"""The Home tab as Slack drives it: the `app_home_opened` event, clicks in the published view,
the modals it opens, their suggestions and submissions (payload shapes: Slack docs,
app_home_opened event and block_actions payload "Home tab" example; bolt-python
`tests/scenario_tests/test_block_suggestion.py` for a suggestion from a view).

Shared by the in-process Home tests and the end-to-end one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

from tests.fakes.slack_requests import action_for, event_callback

TEAM = "T111"


def app_home_opened(user: str, *, team: str = TEAM, tab: str = "home") -> dict[str, Any]:
    """The `event_callback` Slack sends each time `user` enters the app's Home."""
    return event_callback(
        {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME0001",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        },
        team_id=team,
    )


def view_click(
    user: str,
    view: Mapping[str, Any],
    action_id: str,
    *,
    view_id: str,
    value: str | None = None,
    team: str = TEAM,
) -> dict[str, Any]:
    """A click on `action_id` in a published view (`container.type` is `view`; no
    `response_url`, `channel` or `message`)."""
    action = action_for(
        list(view["blocks"]), action_id, value=value, action_ts=f"{time.time():.6f}"
    )
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": f"{time.time():.6f}.22717085937.b9c7",
        "view": {
            "id": view_id,
            "type": view.get("type", "home"),
            "blocks": copy.deepcopy(list(view["blocks"])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": "1571318366.2468e46f",
            "root_view_id": view_id,
            "app_id": "A111",
            "team_id": team,
            "bot_id": "B111",
        },
        "actions": [action],
    }


def view_suggestion(
    user: str, *, view_id: str, action_id: str, block_id: str, value: str, team: str = TEAM
) -> dict[str, Any]:
    """An external select in a modal asking for options as `user` types `value`."""
    return {
        "type": "block_suggestion",
        "user": {"id": user, "team_id": team},
        "container": {"type": "view", "view_id": view_id},
        "api_app_id": "A111",
        "token": "verification_token",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": team, "domain": "acme"},
        "view": {"id": view_id, "type": "modal", "blocks": [], "private_metadata": ""},
    }


def route_values(
    channel: str,
    *,
    projects: tuple[str, ...] = (),
    query: str = "is:unresolved",
    environment: str | None = None,
    users: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """`state.values` of the route form as Slack sends it on submission."""
    return {
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
        "projects": {
            "home.projects": {
                "type": "multi_external_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": p}, "value": p} for p in projects
                ],
            }
        },
        "query": {"query": {"type": "plain_text_input", "value": query}},
        "environment": {"environment": {"type": "plain_text_input", "value": environment}},
        "mentions": {"users": {"type": "multi_users_select", "selected_users": list(users)}},
        "groups": {
            "home.usergroups": {
                "type": "multi_external_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": g}, "value": g} for g in groups
                ],
            }
        },
    }


def digest_values(
    channel: str, *, frequency: str = "weekdays", at: str = "09:00", zone: str = "UTC"
) -> dict[str, dict[str, dict[str, Any]]]:
    """`state.values` of the digest form as Slack sends it on submission."""
    return {
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
        "projects": {"home.projects": {"type": "multi_external_select", "selected_options": []}},
        "frequency": {
            "frequency": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": frequency},
                    "value": frequency,
                },
            }
        },
        "time": {"time": {"type": "timepicker", "selected_time": at}},
        "timezone": {
            "home.timezone": {
                "type": "external_select",
                "selected_option": {"text": {"type": "plain_text", "text": zone}, "value": zone},
            }
        },
    }
