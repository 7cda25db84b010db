"""Time (and peak memory) to reject the worst routes files, and to accept the largest one.

Each file is written to a temporary directory and read with the bot's own `load_config`, as
start-up reads `BOT_CONFIG`: a 5 MB file, an alias bomb ("billion laughs": nine anchors of nine
aliases, about 387 million strings once expanded), nesting 100,000 levels deep, 1 MiB of routes
(too many values), a single 1 MiB value, and the largest files still accepted (1,000 routes of
44 projects each; 1,000 digests, each crontab checked). The time is the median of several
reads; the peak is what `tracemalloc` saw during one more read.

    .venv/bin/python bench/routes_file.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Figure, print_table  # noqa: E402
from bot.config_file import ConfigError, load_config  # noqa: E402

TARGET_SECONDS = 1.0
TARGET_PEAK_MB = 50.0


def five_megabytes() -> str:
    route = "  - channel: C0123ABCD\n    projects: [web, api]\n"
    return "routes:\n" + route * (5 * 1024 * 1024 // len(route) + 1)


def alias_bomb() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\nroutes:\n  - channel: C0123ABCD\n    projects: *i\n"


def deep_nesting() -> str:
    return "routes: " + "[" * 100_000 + "]" * 100_000 + "\n"


def a_megabyte_of_routes() -> str:
    route = "  - channel: C0123ABCD\n"
    return "routes:\n" + route * ((1024 * 1024 - 9) // len(route))


def one_huge_value() -> str:
    return "routes:\n  - channel: C" + "X" * (1024 * 1024 - 40) + "\n"


def largest_accepted_routes() -> str:
    projects = ", ".join(f"project-{n}" for n in range(44))
    return "routes:\n" + "".join(
        f"  - channel: C{n:08d}\n    projects: [{projects}]\n" for n in range(1_000)
    )


def largest_accepted_digests() -> str:
    return "digests:\n" + "".join(
        f"  - channel: C{n:08d}\n    cron: '{n % 60} 9 * * 1-5'\n    timezone: Europe/Berlin\n"
        for n in range(1_000)
    )


CASES: list[tuple[str, Callable[[], str]]] = [
    ("5 MB file", five_megabytes),
    ("alias bomb", alias_bomb),
    ("nested 100,000 deep", deep_nesting),
    ("1 MiB of routes", a_megabyte_of_routes),
    ("one 1 MiB value", one_huge_value),
    ("1,000 routes x 44 projects", largest_accepted_routes),
    ("1,000 digests", largest_accepted_digests),
]


def outcome(path: Path) -> str:
    try:
        config = load_config(path)
    except ConfigError as error:
        first = error.problems[0]
        return "refused: " + (first if len(first) <= 70 else first[:67] + "...")
    return f"accepted: {len(config.routes)} routes, {len(config.digests)} digests"


def measure(path: Path, repeat: int) -> tuple[float, float, str]:
    times = []
    result = ""
    for _ in range(repeat):
        started = time.perf_counter()
        result = outcome(path)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    outcome(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1024 / 1024, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    figures: list[Figure] = []
    outcomes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name, make in CASES:
            path = Path(folder) / "bot.yml"
            path.write_text(make())
            size = path.stat().st_size
            seconds, peak_mb, result = measure(path, args.repeat)
            figures.append(
                Figure(
                    f"{name} ({size / 1024 / 1024:.2f} MiB)",
                    f"{seconds * 1000:.1f} ms, peak {peak_mb:.1f} MB",
                    f"< {TARGET_SECONDS:.0f} s, < {TARGET_PEAK_MB:.0f} MB",
                    seconds < TARGET_SECONDS and peak_mb < TARGET_PEAK_MB,
                )
            )
            outcomes.append(f"  {name}: {result}")
    print_table("Reading the worst routes files (median time, tracemalloc peak)", figures)
    print("\nOutcomes")
    print("\n".join(outcomes))


if __name__ == "__main__":
    main()
