"""docker-compose.yml runs PostgreSQL plus two replicas of the image on it, and works from a
fresh clone once `.env.example` and `bot.example.yml` are copied."""

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config_file import load_config
from bot.settings import SettingsError, load_configuration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BOTS = {name: s for name, s in COMPOSE["services"].items() if name.startswith("bot")}


def test_compose_runs_two_replicas_on_postgres() -> None:
    services = COMPOSE["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert len(BOTS) == 2
    first, second = BOTS.values()
    assert {k: v for k, v in first.items() if k != "ports"} == {
        k: v for k, v in second.items() if k != "ports"
    }
    for bot in BOTS.values():
        assert bot["build"] == "."
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_each_replica_publishes_its_http_listener_on_its_own_port() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    container_port = re.search(r"^EXPOSE (\d+)$", dockerfile, flags=re.MULTILINE)
    assert container_port is not None
    published = [bot["ports"] for bot in BOTS.values()]
    assert published == [["3000:3000"], ["3001:3000"]]
    assert all(p[0].endswith(f":{container_port.group(1)}") for p in published)


def test_the_routes_file_is_a_bind_mounted_file_never_created_as_a_directory() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    workdir = re.search(r"^WORKDIR (\S+)$", dockerfile.split("FROM ")[-1], flags=re.MULTILINE)
    assert workdir is not None
    for bot in BOTS.values():
        assert bot["env_file"] == ".env"
        mounts = [v for v in bot["volumes"] if isinstance(v, dict)]
        assert mounts == [
            {
                "type": "bind",
                "source": "./bot.yml",
                "target": f"{workdir.group(1)}/bot.yml",  # the default BOT_CONFIG there
                "read_only": True,
                "bind": {"create_host_path": False},
            }
        ]


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as Compose reads an env file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_a_fresh_clone_with_the_examples_copied_asks_for_exactly_the_credentials(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    shutil.copy(ROOT / "bot.example.yml", tmp_path / "bot.yml")
    env = env_file(tmp_path / ".env")
    with pytest.raises(SettingsError) as caught:
        load_configuration(env, cwd=tmp_path)
    assert caught.value.problems == [
        "SENTRY_TOKEN: required but not set",
        "SENTRY_ORG: required but not set",
        "SLACK_BOT_TOKEN: required but not set",
        "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
    ]
    env |= {
        "SENTRY_TOKEN": "sntryu_filled-in",
        "SENTRY_ORG": "acme",
        "SLACK_BOT_TOKEN": "xoxb-filled-in",
        "SLACK_APP_TOKEN": "xapp-filled-in",
    }
    settings, config = load_configuration(env, cwd=tmp_path)
    assert settings.config_path == tmp_path / "bot.yml"
    assert config.routes == ()


def test_the_examples_commented_entries_are_valid_once_uncommented(tmp_path: Path) -> None:
    text = (ROOT / "bot.example.yml").read_text()
    uncommented = re.sub(r"^  # ", "  ", text, flags=re.MULTILINE)
    (tmp_path / "bot.yml").write_text(uncommented)
    config = load_config(tmp_path / "bot.yml")
    assert [r.channel for r in config.routes] == ["C0123ABCD"]
    assert [d.cron for d in config.digests] == ["0 9 * * 1-5"]


def test_env_example_names_only_documented_variables() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    named = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert named
    assert named <= documented


def test_local_credentials_and_routes_stay_out_of_git_and_the_image() -> None:
    assert {".env", "/bot.yml"} <= set((ROOT / ".gitignore").read_text().split())
    assert {".env", "bot.yml"} <= set((ROOT / ".dockerignore").read_text().split())
