"""The README stays true: its configuration table lists exactly the variables the settings
read, its two set-up commands are the ones CI runs, and its Quick start leads, in order, from
the tokens to a running bot and a first card, saying where each ID comes from."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


class RecordingEnv(dict[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> str:  # type: ignore[override]
        self.asked.add(key)
        value = super().get(key, default)
        return value if isinstance(value, str) else ""

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("settings must ask for variables by name")


def documented_variables() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("### ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))


def test_configuration_table_matches_the_settings(tmp_path: Path) -> None:
    env = RecordingEnv()
    with pytest.raises(SettingsError):
        load_settings(env, cwd=tmp_path)
    assert documented_variables() == env.asked


def test_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^ *```sh\n(.+?)\n *```", quick_start, flags=re.DOTALL | re.MULTILINE)
    assert len(commands) == 2
    run_app, run_tests = (command.strip() for command in commands)
    assert run_app.endswith("python -m bot")
    assert "pytest" in run_tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert run_tests in ci


def test_quick_start_goes_from_tokens_to_the_first_card_in_order() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    steps = [
        "slack_manifest.yml",
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
        "SENTRY_TOKEN",
        "SENTRY_ORG",
        "cp .env.example .env",
        "cp bot.example.yml bot.yml",
        "channel ID",
        "python -m bot",
        "/readyz",
        "See the first card",
    ]
    positions = [quick_start.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    for name in (".env.example", "bot.example.yml", "slack_manifest.yml"):
        assert (ROOT / name).is_file()


def test_the_run_command_reads_the_env_file_the_quick_start_fills_in() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert ". ./.env" in quick_start
