"""slack_manifest.yml validates against Slack's official schema and asks for exactly the
scopes the code uses."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.slack.scopes import BOT_SCOPES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "contract" / "slack" / "manifest.schema.1.0.0.json"


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "slack_manifest.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_matches_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(manifest())


def test_schema_catches_a_broken_manifest() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "sentry"
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(broken))
    assert errors


def test_scopes_are_exactly_those_the_code_uses() -> None:
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_socket_mode_with_escaped_command_text() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/sentry"
    assert command["should_escape"] is True
    assert "url" not in command


def test_the_home_tab_is_enabled_and_its_event_subscribed() -> None:
    data = manifest()
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in data["settings"]["event_subscriptions"]["bot_events"]


def test_schema_catches_a_home_tab_setting_of_the_wrong_type() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = manifest()
    broken["features"]["app_home"]["home_tab_enabled"] = "yes"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))
