"""What the benchmarks share: the fakes, the bot's environment, cycle counting, figure tables.

Benchmarks run as scripts (`.venv/bin/python bench/<name>.py` from anywhere); each puts the
repository root on `sys.path` before importing from `bot`, `tests` or here.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry, RecordedRequest
from tests.fakes.slack_server import FakeSlack

ORG = "acme"
ISSUE_SEARCH_PATH = f"/api/0/organizations/{ORG}/issues/"


@contextlib.contextmanager
def fakes() -> Iterator[tuple[FakeSentry, FakeSlack]]:
    with (
        FakeSentry(org=ORG, token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(
            bot_token=TOKENS["SLACK_BOT_TOKEN"], app_token=TOKENS["SLACK_APP_TOKEN"]
        ) as slack,
    ):
        yield sentry, slack


def bot_process(
    sentry: FakeSentry, slack: FakeSlack, workdir: Path, *, config: str, **extra: str
) -> BotProcess:
    """`python -m bot` in HTTP mode on the fakes, its SQLite file and routes file in `workdir`."""
    config_file = workdir / "bot.yml"
    config_file.write_text(config)
    env = {
        "SENTRY_HOST": sentry.url,
        "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
        "SENTRY_ORG": ORG,
        "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
        "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{workdir}/bot.sqlite3",
        "BOT_CONFIG": str(config_file),
        "POLL_INTERVAL_SECONDS": "1",
        **extra,
    }
    return BotProcess(env, workdir=workdir)


def is_issue_list(request: RecordedRequest) -> bool:
    """A request to the org issue list (searches, their next pages, `group=` look-ups)."""
    return request.method == "GET" and request.path == ISSUE_SEARCH_PATH


def is_cycle_start(request: RecordedRequest) -> bool:
    """The first page of a poll search: one per route group per cycle."""
    return (
        is_issue_list(request)
        and "firstSeen:>=" in (request.param("query") or "")
        and request.param("cursor") is None
    )


def cycles(sentry: FakeSentry) -> int:
    return sum(1 for r in sentry.requests if is_cycle_start(r))


def wait_cycles(sentry: FakeSentry, count: int, timeout: float = 120.0) -> int:
    """Block until `count` poll cycles have started in total; returns the count reached."""
    sentry.wait_for(lambda: cycles(sentry) >= count, timeout)
    return cycles(sentry)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    target: str = ""
    met: bool | None = None


def print_table(title: str, figures: Sequence[Figure]) -> None:
    rows = [("figure", "value", "target", "")] + [
        (f.name, f.value, f.target, "" if f.met is None else ("ok" if f.met else "MISSED"))
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print(f"\n{title}")
    for number, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


def elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"
