"""The import graph of `bot/`: packages depend one way (no cycles), and the card domain knows no
Slack. Read from the source with `ast`, so an import inside a function counts too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
SLACK_LIBRARIES = ("slack_sdk", "slack_bolt")


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def imported(name: str) -> Iterator[str]:
    """Every module `name` imports (a `from package import module` names the module)."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def bot_imports(name: str) -> set[str]:
    return {m for m in imported(name) if m in MODULES and m != name}


def package_of(module: str) -> str:
    """`bot.alerts.poller` -> `bot.alerts`; a top-level module (`bot.runtime`) is its own."""
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package_of(m): set() for m in MODULES if m != "bot"}
    for module in MODULES:
        if module == "bot":
            continue
        for target in bot_imports(module):
            if target != "bot" and package_of(target) != package_of(module):
                graph[package_of(module)].add(package_of(target))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_package_graph_has_no_cycle() -> None:
    cycle = find_cycle(package_graph())
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_alerting_and_triage_do_not_import_each_other() -> None:
    graph = package_graph()
    assert "bot.triage" not in graph["bot.alerts"]
    assert "bot.alerts" not in graph["bot.triage"]


def test_the_card_domain_knows_no_slack() -> None:
    """Not even through what it imports: the card is drawn and shown by what it is given."""
    seen: set[str] = set()
    todo = [m for m in MODULES if m.startswith("bot.card")]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        outside = {i.split(".")[0] for i in imported(module)}
        assert not outside & set(SLACK_LIBRARIES), f"{module} imports a Slack library"
        todo += bot_imports(module)
    assert not [m for m in seen if m.startswith("bot.slack")], sorted(seen)


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_sentry_webhooks_use_the_alerting_path_and_know_no_slack() -> None:
    """Webhooks act through the use cases polling uses; only the composition root, the
    process and the HTTP listener know the webhook package."""
    graph = package_graph()
    assert "bot.alerts" in graph["bot.webhooks"]
    assert not graph["bot.webhooks"] & {"bot.slack", "bot.handlers", "bot.web"}
    users = {source for source, targets in graph.items() if "bot.webhooks" in targets}
    assert users <= {"bot.factory", "bot.runtime", "bot.web"}
    for module in (m for m in MODULES if m.startswith("bot.webhooks")):
        outside = {i.split(".")[0] for i in imported(module)}
        assert not outside & set(SLACK_LIBRARIES), f"{module} imports a Slack library"
