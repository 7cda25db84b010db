"""Time for "Send to Sentry" to find the card a thread belongs to, with 100,000 cards posted.

Outbox rows are the exactly-once ledger and are kept for good, so this look-up must not grow
with them. A SQLite store is migrated by the bot's own code, filled with `--cards` posted cards
in one channel, and `CommentStore.issue_of_thread` is timed for 50 threads spread over them:
once with the `ix_outbox_message_ts` index dropped (as before it existed), once with it.

    .venv/bin/python bench/thread_lookup.py [--cards N]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Figure, print_table  # noqa: E402
from bot.conversation.store import CommentStore  # noqa: E402
from bot.store.database import create_engine  # noqa: E402
from bot.store.migrations import migrate  # noqa: E402

LOOKUPS = 50
TARGET_MS = 2.0


def ts(number: int) -> str:
    return f"{1_700_000_000 + number}.000100"


async def measure(directory: Path, cards: int, *, indexed: bool) -> list[float]:
    path = directory / ("indexed.sqlite3" if indexed else "scan.sqlite3")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    await engine.dispose()
    with sqlite3.connect(path) as db:
        if not indexed:
            db.execute("DROP INDEX ix_outbox_message_ts")
        db.executemany(
            "INSERT INTO outbox (id, channel, key, producer, state, posted_as, message_ts, "
            "due_at, attempts) VALUES (?, 'C1', ?, 'card', 'posted', 'card', ?, "
            "'2026-01-01 00:00:00', 0)",
            [(n, f"issue:{n}", ts(n)) for n in range(1, cards + 1)],
        )
        db.executemany(
            "INSERT INTO cards (id, channel, issue_id, project, first_seen, outbox_id) "
            "VALUES (?, 'C1', ?, 'web', '2026-01-01 00:00:00', ?)",
            [(n, str(n), n) for n in range(1, cards + 1)],
        )
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    store = CommentStore(engine)
    times: list[float] = []
    try:
        for n in range(1, cards + 1, max(1, cards // LOOKUPS)):
            started = time.perf_counter()
            found = await store.issue_of_thread("C1", ts(n))
            times.append(1000 * (time.perf_counter() - started))
            if found != str(n):
                raise SystemExit(f"thread {ts(n)} gave {found!r}, not {n}")
    finally:
        await engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000, help="cards posted (100,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scan = asyncio.run(measure(Path(tmp), args.cards, indexed=False))
        indexed = asyncio.run(measure(Path(tmp), args.cards, indexed=True))
    p50 = statistics.median(indexed)
    print_table(
        f"thread look-up: {args.cards:,} posted cards in one channel, {len(indexed)} look-ups",
        [
            Figure(
                "without the index p50 / max", f"{statistics.median(scan):.2f} / {max(scan):.2f} ms"
            ),
            Figure(
                "with ix_outbox_message_ts p50 / max",
                f"{p50:.2f} / {max(indexed):.2f} ms",
                f"p50 < {TARGET_MS:g} ms",
                p50 < TARGET_MS,
            ),
        ],
    )


if __name__ == "__main__":
    main()
