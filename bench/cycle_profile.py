"""Where an idle poll cycle's time goes: SQL statements per cycle, Sentry requests per cycle,
and the functions that use the most CPU (cProfile), with the bot built in this process.

The bot is built exactly as `python -m bot` builds it (its composition root, HTTP mode,
SQLite in a temporary directory, the loopback fakes), started, and left to poll at one
second for `--seconds`; the store optionally holds `--cards` posted cards, `--tracked` of
them young enough to be kept current (as `cycle_cpu_rss.py` fills it). SQL statements are
counted and timed with SQLAlchemy's cursor events, grouped by verb and table. The fakes run
in this process too, so its CPU figure is an upper bound; `cycle_cpu_rss.py` measures the
bot alone.

    .venv/bin/python bench/cycle_profile.py [--seconds 20] [--cards 0] [--tracked 0] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.common import ORG, cycles, fakes  # noqa: E402
from bench.cycle_cpu_rss import CHANNELS, channel_id, posted_cards, routes_yaml  # noqa: E402
from bench.ledger import prefill_posted  # noqa: E402
from bot.config_file import load_config  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sentry.models import Issue  # noqa: E402
from bot.settings import async_database_url, load_settings  # noqa: E402
from tests.e2e.harness import TOKENS, free_port  # noqa: E402

WARMUP_SECONDS = 3.0


def statement_kind(statement: str) -> str:
    """The statement's verb and table, e.g. `SELECT cards`, `UPDATE leases`."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else '?'}"


async def measure(args: argparse.Namespace) -> None:
    rng = random.Random(20261130)
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(UTC)
        for number in range(CHANNELS):
            sentry.create_project(f"p{number}")
            slack.add_channel(channel_id(number), f"alerts-{number}")
        config_file = Path(tmp) / "bot.yml"
        config_file.write_text(routes_yaml())
        settings = load_settings(
            {
                "SENTRY_HOST": sentry.url,
                "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
                "SENTRY_ORG": ORG,
                "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
                "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
                "SLACK_API_URL": slack.api_url,
                "DATABASE_URL": f"sqlite:///{tmp}/bot.sqlite3",
                "POLL_INTERVAL_SECONDS": "1",
                "PORT": str(free_port()),
            },
            cwd=Path(tmp),
        )
        if args.cards:
            issues = [
                Issue.from_api(
                    sentry.create_issue(
                        f"p{number % CHANNELS}",
                        f"TrackedError{number}: posted before",
                        first_seen=now - timedelta(days=7, seconds=rng.uniform(0, 86_400)),
                    ),
                    web_base=sentry.url,
                    org=ORG,
                )
                for number in range(args.cards)
            ]
            await prefill_posted(
                async_database_url(settings.database_url),
                posted_cards(issues, now, rng, min(args.tracked, args.cards)),
                now=now,
            )
        runtime = Runtime(settings, load_config(config_file))
        statements: Counter[str] = Counter()
        seconds: Counter[str] = Counter()
        counting = False

        def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            _conn.info["started"] = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if counting:
                kind = statement_kind(statement)
                statements[kind] += 1
                seconds[kind] += time.perf_counter() - _conn.info.pop("started", 0.0)

        sa.event.listen(runtime.engine.sync_engine, "before_cursor_execute", before)
        sa.event.listen(runtime.engine.sync_engine, "after_cursor_execute", after)
        try:
            await runtime.start()
            await asyncio.sleep(WARMUP_SECONDS)
            first, requests_before = cycles(sentry), len(sentry.requests)
            counting = True
            profile = cProfile.Profile()
            cpu_before, wall_before = time.process_time(), time.monotonic()
            profile.enable()
            await asyncio.sleep(args.seconds)
            profile.disable()
            cpu = time.process_time() - cpu_before
            wall = time.monotonic() - wall_before
            counting = False
            measured = max(cycles(sentry) - first, 1)
            requests = len(sentry.requests) - requests_before
        finally:
            await runtime.close()
        print(
            f"{measured} cycles in {wall:.1f} s, {args.cards:,} cards, {args.tracked:,} tracked: "
            f"{1000 * cpu / measured:.1f} ms CPU per cycle (process CPU, profiler on), "
            f"{requests / measured:.1f} Sentry requests per cycle"
        )
        print("SQL statements per cycle (count, ms in the driver per cycle):")
        for kind, number in statements.most_common():
            print(f"  {number / measured:6.2f}  {1000 * seconds[kind] / measured:7.2f} ms  {kind}")
        print(f"  {sum(statements.values()) / measured:6.2f}  in all")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cards", type=int, default=0, help="posted cards in the store")
    parser.add_argument(
        "--tracked", type=int, default=0, help="how many of them are young enough to refresh"
    )
    parser.add_argument("--top", type=int, default=25)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
