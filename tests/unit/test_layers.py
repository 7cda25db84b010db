"""Dependencies point one way: the triage domain knows nothing of Slack; and the Slack listeners
are importable functions, not closures hidden inside `register`.

The first is read from the import statements themselves (with `ast`), so an import anywhere in a
module, inside a function or under `TYPE_CHECKING` included, counts; the second from the listeners
Bolt holds once the composition root has registered them.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config_file import BotConfig, RouteSpec
from bot.runtime import Runtime
from bot.settings import load_settings
from tests.e2e.harness import TOKENS

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "bot" / "triage"
FORBIDDEN = ("bot.slack", "slack_bolt", "slack_sdk")
# The card updater renders and posts Slack messages: it belongs with the card, whose own package
# it moves to, not with the triage domain. Until then it is the one module allowed.
CARD_UPDATER = TRIAGE / "cards.py"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement in `source` names, relative imports made absolute
    (`module` is the dotted name of the file), `from a import b` counted as `a` and `a.b`."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def forbidden(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)
    }


def triage_modules() -> list[Path]:
    return sorted(path for path in TRIAGE.rglob("*.py") if path != CARD_UPDATER)


def test_the_triage_package_is_read() -> None:
    names = {path.name for path in triage_modules()}
    assert {"vocabulary.py", "service.py", "identity.py"} <= names


@pytest.mark.parametrize("path", triage_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_triage_imports_no_slack_module(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    assert forbidden(imported_modules(path.read_text(encoding="utf-8"), module)) == set()


@pytest.mark.parametrize(
    "source",
    [
        "import slack_sdk",
        "import slack_bolt.async_app as bolt",
        "from slack_sdk.errors import SlackApiError",
        "from bot.slack.card import LastAction",
        "from bot import slack",
        "from ..slack import actions",
        "def f():\n    from bot.slack import escape\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import slack_bolt\n",
    ],
)
def test_every_form_of_a_slack_import_is_seen(source: str) -> None:
    assert forbidden(imported_modules(source, "bot.triage.example")) != set()


@pytest.mark.parametrize(
    "source",
    ["import bot.sentry.models", "from bot.triage import vocabulary", "import slackish"],
)
def test_other_imports_pass(source: str) -> None:
    assert forbidden(imported_modules(source, "bot.triage.example")) == set()


@pytest.fixture(scope="module")
def listener_names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[str, str]]]:
    """(module, qualified name) of every listener the composition root binds on the Bolt app,
    read from what Bolt stores (`AsyncApp._async_listeners`, each an `AsyncCustomListener` whose
    `ack_function` is the function Bolt calls). Nothing is sent: the addresses are never called."""
    workdir = tmp_path_factory.mktemp("listeners")
    settings = load_settings(
        {
            "SENTRY_HOST": "http://127.0.0.1:9",
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "DATABASE_URL": f"sqlite:///{workdir}/bot.sqlite3",
        },
        cwd=workdir,
    )
    runtime = Runtime(settings, BotConfig(routes=(RouteSpec(channel="C0000000001"),)))
    try:
        yield [
            (listener.ack_function.__module__, listener.ack_function.__qualname__)
            for listener in runtime.bolt._async_listeners
        ]
    finally:
        asyncio.run(runtime.close())


def test_every_listener_module_is_read(listener_names: list[tuple[str, str]]) -> None:
    modules = {module for module, _ in listener_names}
    assert {
        "bot.handlers.card_actions",
        "bot.handlers.commands",
        "bot.handlers.digest_actions",
        "bot.handlers.fallbacks",
        "bot.handlers.home",
        "bot.handlers.shortcuts",
        "bot.handlers.unfurls",
    } <= modules


def test_listeners_are_importable_functions_not_closures(
    listener_names: list[tuple[str, str]],
) -> None:
    """Each listener is a module's function or a method of a module's class (a closure's
    qualified name has `<locals>`), so it can be imported and tested on its own."""
    closures = [(module, name) for module, name in listener_names if "<locals>" in name]
    assert closures == []
    for module, name in listener_names:
        found: object = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
        assert callable(found), (module, name)
