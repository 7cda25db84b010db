"""YAML read as untrusted input: bounded size, depth and node count, no anchors or aliases,
and every mapping key and list item keeps its line.

A hostile file cannot make the reader expand an alias bomb ("billion laughs": each alias repeats
an anchored node, so a few hundred bytes expand to gigabytes), recurse until the stack
overflows, or spend seconds composing a huge tree: the event stream is scanned first (libyaml's
parser when PyYAML has it, which is fast and not recursive), and anything beyond the limits is
refused at its line before a single node is built. Anchors and aliases are refused outright;
a routes file never needs them.
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from yaml.constructor import SafeConstructor

MAX_DEPTH: Final = 10
MAX_NODES: Final = 50_000
MAX_SHOWN: Final = 60

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """The text is not a YAML document this reader accepts; `line` is 1-based when known."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class YamlMap(dict[str, Any]):
    """A mapping whose keys are strings; `line` of the mapping and `key_lines` of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class YamlList(list[Any]):
    """A sequence; `line` of the sequence and `item_lines` of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def shown(value: object) -> str:
    """A value as it may appear in an error message: its repr, cut to a few dozen characters."""
    if isinstance(value, YamlMap):
        return "a mapping"
    if isinstance(value, YamlList):
        return "a list"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _problem_text(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    text = " ".join(str(problem).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _scan(text: str) -> None:
    """Refuse anchors, aliases, deep nesting and huge trees from the event stream alone."""
    depth = 0
    nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(
                _line(event.start_mark), "YAML aliases (*name) are not allowed in this file"
            )
        if isinstance(event, yaml.NodeEvent):
            if event.anchor is not None:
                raise YamlProblem(
                    _line(event.start_mark), "YAML anchors (&name) are not allowed in this file"
                )
            nodes += 1
            if nodes > MAX_NODES:
                raise YamlProblem(
                    _line(event.start_mark), f"more than {MAX_NODES:,} values; the file is too big"
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(_line(event.start_mark), f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Builder:
    """Turns composed nodes into `YamlMap` / `YamlList` / plain scalars, keeping lines."""

    def __init__(self) -> None:
        self._constructor = SafeConstructor()

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            mapping = YamlMap(node.start_mark.line + 1)
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem(line, "a key must be a plain word, not a list or mapping")
                key = self.scalar(key_node)
                if key is None or isinstance(key, bool | int | float | str):
                    key = str(key) if key is not None else ""
                else:
                    raise YamlProblem(line, f"{shown(key)} is not usable as a key")
                if key in mapping:
                    raise YamlProblem(line, f"duplicate key {shown(key)}")
                mapping[key] = self.value(value_node)
                mapping.key_lines[key] = line
            return mapping
        if isinstance(node, yaml.SequenceNode):
            sequence = YamlList(node.start_mark.line + 1)
            for item in node.value:
                sequence.append(self.value(item))
                sequence.item_lines.append(item.start_mark.line + 1)
            return sequence
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError as exc:
            raise YamlProblem(node.start_mark.line + 1, _problem_text(exc)) from exc
        except (ValueError, TypeError, OverflowError) as exc:
            # A scalar the safe constructor cannot build (a date like 2024-13-45): reported
            # without the value.
            raise YamlProblem(
                node.start_mark.line + 1, f"a value YAML cannot read ({type(exc).__name__})"
            ) from exc


def load_document(text: str) -> Any:
    """The single document in `text` (None when empty); raises YamlProblem."""
    try:
        _scan(text)
        node = yaml.compose(text, Loader=_Loader)
        return None if node is None else _Builder().value(node)
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem(
            _line(exc.problem_mark or exc.context_mark), f"not valid YAML ({_problem_text(exc)})"
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"not valid YAML ({_problem_text(exc)})") from exc
    except RecursionError as exc:  # unreachable after the depth check; never a traceback
        raise YamlProblem(None, f"nested deeper than {MAX_DEPTH} levels") from exc
