"""Lint, format and type checks as tests, so the one test command enforces them too.

The tools are the pinned ones installed next to this interpreter (`.[test]`); their settings
live in pyproject.toml (`[tool.ruff]`, `[tool.mypy]` strict on `bot/`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(sys.executable).parent


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    tool = TOOLS / name
    if not tool.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}; install '.[test]'")
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [str(tool), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy-strict"),
    ],
)
def test_tool_passes(command: tuple[str, ...]) -> None:
    result = run_tool(*command)
    assert result.returncode == 0, (
        f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}"
    )
