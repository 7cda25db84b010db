"""Hypothesis strategies for hostile Slack input: any JSON, ids that must never reach Sentry,
Unicode edge cases, and real payloads with fields removed, nulled, retyped or swollen."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EXAMPLES = Path(__file__).parent / "fakes" / "slack_examples"

# Ids that name no issue yet look close to one: the bulk endpoint (`.`), the org (`..`), empty,
# signs, spaces, other digits, and numbers past Sentry's 64-bit ids.
BAD_ISSUE_IDS = [
    "",
    ".",
    "..",
    "/",
    "./1",
    "1/..",
    "%2e",
    "%2e%2e",
    "0",
    "00",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1\n",
    "1.0",
    "1e3",
    "0x1f",
    "\u0661",  # ARABIC-INDIC DIGIT ONE
    "\uff11",  # FULLWIDTH DIGIT ONE
    "1" * 20,
    "1" * 40,
    str(2**63),
    "9" * 19,
    "abc",
    "WEB-3F",
    "?id=1",
    "1#x",
]

# Unicode that trips encoders, normalisers and terminals.
EDGE_TEXT = [
    "\ud800",  # lone surrogate
    "\udfff",
    "\x00",
    "\u202e",  # right-to-left override
    "\ufeff",  # byte order mark
    "\u200b",  # zero width space
    "e\u0301",  # combining accent
    "\U0001f4a5",
    "<!channel>",
    "&lt;&gt;&amp;",
    "\\",
    '"',
    "|",
    ":",
]

unicode_text = st.text(st.characters(exclude_categories=()), max_size=40)
"""Any code point, lone surrogates and controls included."""

text = st.one_of(unicode_text, st.sampled_from(EDGE_TEXT), st.sampled_from(BAD_ISSUE_IDS))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    st.text(max_size=5).map(lambda s: s * 2000),  # a long string
)

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)
    ),
    max_leaves=20,
)
"""Any JSON value (with lone surrogates, which json.dumps escapes and json.loads gives back)."""


def deep(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((*prefix, index))
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one to four fields removed, nulled, retyped, swollen or made deep."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["remove", "null", "replace", "deep", "huge"]))
        if action == "remove":
            del parent[key]
        elif action == "null":
            parent[key] = None
        elif action == "replace":
            parent[key] = draw(json_values)
        elif action == "deep":
            parent[key] = deep(draw(st.integers(min_value=1, max_value=120)))
        else:
            parent[key] = "x" * draw(st.integers(min_value=1_000, max_value=200_000))
    return payload
