"""Hostile Sentry: the inputs the suite feeds per class, and the bot's memory and click
acknowledgements while Sentry sends its worst bodies.

- `inputs`: size and shape of each hostile issue the suite serves (`tests/fakes/sentry_hostile.py`)
  and of the worst bodies (gzip bomb, drip).
- `worst`: the real bot (`python -m bot`, HTTP mode, POLL_INTERVAL_SECONDS=1) with 20 cards
  posted; then every org issue-list or issue request alternately gets a gzip bomb (1 GiB of JSON
  whitespace, ~1 MiB on the wire) or a drip (one byte per second), while a Sentry member clicks
  "Resolve now" on the cards one after another for `--seconds`. Figures: the bot's peak RSS
  (`VmHWM`) and the worst and median click acknowledgement (the HTTP answer Slack waits for,
  3 s at most). `--checkout PATH` runs the bot from another source tree (e.g. an export of the
  code before this change) with the same fakes and clicks.

    .venv/bin/python bench/hostile_sentry.py inputs
    .venv/bin/python bench/hostile_sentry.py worst [--seconds 30] [--checkout PATH]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cards import add_clicker, issue_cards, poll_until, resolve_click  # noqa: E402
from bench.common import Figure, bot_process, cycles, fakes, print_table, wait_cycles  # noqa: E402
from tests.fakes.sentry_hostile import (  # noqa: E402
    DEEP,
    HOSTILE_CLASSES,
    HUGE_DIGITS,
    hostile_issue,
    issue_template,
)
from tests.fakes.sentry_server import gzip_bomb  # noqa: E402

CHANNEL = "C0HOSTILE"
BOMB_BYTES = 1 << 30
ISSUE_PATHS = "/organizations/acme/issues/"
ACK_TARGET = 3.0
RSS_TARGET_MB = 200.0


def inputs() -> None:
    template = issue_template(
        org="acme", web_url="https://sentry.example", project="web", issue_id=1
    )
    notes = {
        "far_future_date": "firstSeen 9999-12-31T23:59:59-14:00 (year 10000 in UTC)",
        "lone_surrogates": "title and culprit with \\ud800 \\udfff \\udc00",
        "deep_metadata": f"metadata nested {DEEP:,} deep",
        "huge_int": f"userCount of {HUGE_DIGITS:,} digits",
        "non_numeric_id": 'id "../1"',
        "foreign_permalink": "permalink https://evil.example/…",
    }
    figures = [
        Figure(kind, f"{len(hostile_issue(kind, template).encode()):,} bytes", notes[kind])
        for kind in HOSTILE_CLASSES
    ]
    started = time.monotonic()
    bomb = gzip_bomb(BOMB_BYTES)
    figures.append(
        Figure(
            "gzip_bomb",
            f"{len(bomb):,} bytes on the wire",
            f"inflates to {BOMB_BYTES:,} bytes ({time.monotonic() - started:.1f} s to build)",
        )
    )
    figures.append(Figure("drip", "1 byte per second", "each read succeeds; the whole never does"))
    print_table("hostile inputs served by the fake Sentry", figures)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match, "no VmHWM in /proc/<pid>/status"
    return int(match.group(1)) / 1024


def worst(seconds: float, checkout: Path | None) -> None:
    gzip_bomb(BOMB_BYTES)  # built before the clock starts
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        slack.add_channel(CHANNEL, "alerts")
        sentry.create_project("web")
        add_clicker(sentry, slack)
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        # One card per issue even when all arrive in one cycle.
        extra = {"STORM_THRESHOLD": "1000"}
        if checkout:
            extra["PYTHONPATH"] = str(checkout)
        bot = bot_process(sentry, slack, Path(tmp), config=config, **extra)
        with bot:
            bot.wait_ready(60)
            wait_cycles(sentry, cycles(sentry) + 1)
            made = [sentry.create_issue("web", f"Issue {n}") for n in range(20)]
            poll_until(lambda: len(issue_cards(slack, CHANNEL)) >= len(made), 60, every=0.2)
            assert bot.process is not None
            baseline = peak_rss_mb(bot.process.pid)
            for _ in range(100):
                sentry.gzip_bomb_next(1, inflated_bytes=BOMB_BYTES, path_contains=ISSUE_PATHS)
                sentry.drip_next(1, interval=1.0, path_contains=ISSUE_PATHS)
            acks: list[float] = []
            failed = 0
            started = time.monotonic()
            turn = 0
            while time.monotonic() - started < seconds:
                cards = issue_cards(slack, CHANNEL)
                card = slack.message(CHANNEL, cards[made[turn % len(made)]["id"]][0].ts)
                turn += 1
                try:
                    reply = resolve_click(bot.url, slack, card).send(timeout=15)
                except Exception:  # a click that never got an answer
                    failed += 1
                    continue
                acks.append(reply.elapsed)
                if reply.status != 200:
                    failed += 1
                time.sleep(0.25)
            alive = bot.process.poll() is None
            peak = peak_rss_mb(bot.process.pid) if alive else float("nan")
        label = f"bot from {checkout}" if checkout else "bot from this checkout"
        print_table(
            f"worst Sentry bodies (gzip bomb + drip) for {seconds:.0f} s, {label}",
            [
                Figure("peak RSS before the attack", f"{baseline:.0f} MB"),
                Figure(
                    "peak RSS during",
                    f"{peak:.0f} MB",
                    f"< {RSS_TARGET_MB:.0f} MB",
                    peak < RSS_TARGET_MB,
                ),
                Figure(
                    "worst click ack",
                    f"{max(acks):.3f} s" if acks else "none",
                    f"< {ACK_TARGET:.0f} s",
                    bool(acks) and max(acks) < ACK_TARGET,
                ),
                Figure("median click ack", f"{statistics.median(acks):.3f} s" if acks else "none"),
                Figure("clicks answered / failed", f"{len(acks)} / {failed}"),
                Figure("process alive", "yes" if alive else "no", "yes", alive),
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("section", choices=["inputs", "worst", "all"], nargs="?", default="all")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--checkout", type=Path, default=None)
    args = parser.parse_args()
    if args.section in ("inputs", "all"):
        inputs()
    if args.section in ("worst", "all"):
        worst(args.seconds, args.checkout)


if __name__ == "__main__":
    main()
