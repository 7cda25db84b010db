"""Comments written in Sentry reaching card threads: the cost of watching, and the delay.

- `poll`: `python -m bot` (HTTP mode, POLL_INTERVAL_SECONDS=1) with 1,000 cards posted in
  the fake Slack and recorded as posted in its SQLite store (through the bot's own
  `CardStore`). Every Sentry request is counted over 10 steady cycles with nobody commenting:
  requests per cycle, and how many of them read comments. Then 20 people's comments are
  written in the fake Sentry at random moments on random tracked issues; for each, the
  seconds until its reply is in the card's thread in the fake Slack (p50 / p95 / max).
- `sink`: the bot built in this process (`tests.inprocess.InProcessBot`, polling out of the
  way) with 30 cards; 20 comments, each followed at once by the call the comment webhook
  will make (`CommentSync.comment_created(issue_id)`); the seconds from writing the comment
  to its reply in the thread.

    .venv/bin/python bench/comments.py [poll | sink | all]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cards import poll_until  # noqa: E402
from bench.common import (  # noqa: E402
    ORG,
    Figure,
    bot_process,
    elapsed,
    fakes,
    is_cycle_start,
    is_issue_list,
    percentile,
    print_table,
    wait_cycles,
)
from bench.ledger import PostedCard, prefill_posted  # noqa: E402
from bench.triage_latency import post_cards  # noqa: E402
from bot.sentry.models import Issue  # noqa: E402
from bot.settings import async_database_url  # noqa: E402
from tests.e2e.conftest import bot_env  # noqa: E402
from tests.fakes.sentry_server import FakeSentry  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402
from tests.inprocess import InProcessBot  # noqa: E402

CHANNEL = "C0TRIAGE1"  # the channel `post_cards` posts to
TRACKED = 1_000
STEADY_CYCLES = 10
COMMENTS = 20
SINK_CARDS = 30
TARGET_SINK_P95 = 1.0


def replied(slack: FakeSlack, thread_ts: str, text: str) -> bool:
    return any(
        m.thread_ts == thread_ts and m.ts != thread_ts and text in m.text
        for m in slack.messages(CHANNEL)
    )


def comment_requests(sentry: FakeSentry) -> int:
    return sum(1 for r in sentry.requests if r.path.endswith("/comments/"))


def poll(interval: int = 1) -> None:
    rng = random.Random(20261130)
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
        sentry.add_member("bo@example.com", name="Bo Berg")
        slack.add_channel(CHANNEL, "alerts")
        now = datetime.now(UTC)
        issues = [
            Issue.from_api(
                sentry.create_issue(
                    "web",
                    f"TrackedError{n}: carded earlier",
                    first_seen=now - timedelta(days=2, seconds=rng.uniform(0, 86_400)),
                ),
                web_base=sentry.url,
                org=ORG,
            )
            for n in range(TRACKED)
        ]
        posted = post_cards(slack, issues)
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        bot = bot_process(
            sentry, slack, Path(tmp), config=config, POLL_INTERVAL_SECONDS=str(interval)
        )
        cards = [PostedCard(issue, CHANNEL, posted[issue.id], now) for issue in issues]
        asyncio.run(prefill_posted(async_database_url(bot.env["DATABASE_URL"]), cards, now=now))
        with bot:
            bot.wait_ready(timeout=60)
            first = wait_cycles(sentry, 3)
            window_started = time.monotonic()
            last = wait_cycles(sentry, first + STEADY_CYCLES, timeout=120 * interval)
            window_seconds = time.monotonic() - window_started
            log = sentry.requests
            starts = [i for i, r in enumerate(log) if is_cycle_start(r)]
            window = log[starts[first - 1] : starts[last - 1]]
            measured = last - first
            per_cycle = len(window) / measured
            reads = sum(1 for r in window if r.path.endswith("/comments/")) / measured
            lookups = sum(1 for r in window if is_issue_list(r) and r.params("group")) / measured

            delays: list[float] = []
            before = comment_requests(sentry)
            for n, issue in enumerate(rng.sample(issues, COMMENTS)):
                time.sleep(rng.uniform(0.0, interval))  # a random moment of the poll cycle
                text = f"comment {n} from Bo"
                written = time.monotonic()
                sentry.add_comment(issue.id, text, by="bo@example.com")
                poll_until(lambda i=issue, t=text: replied(slack, posted[i.id], t), 30 * interval)
                delays.append(time.monotonic() - written)
            reads_for_comments = comment_requests(sentry) - before
            code = bot.stop()
        p95 = percentile(delays, 0.95)
        print_table(
            f"comments by polling: {TRACKED:,} tracked cards, POLL_INTERVAL_SECONDS={interval}, "
            f"cycles {first}..{last} ({elapsed(started)})",
            [
                Figure("Sentry requests / cycle, nobody commenting", f"{per_cycle:.1f}"),
                Figure("  of which group= look-ups (100 ids each)", f"{lookups:.1f}"),
                Figure("  of which comment reads", f"{reads:.1f}", "0", reads == 0),
                Figure("seconds / cycle while measuring", f"{window_seconds / measured:.2f}"),
                Figure(
                    f"{COMMENTS} comments: comment reads in all",
                    str(reads_for_comments),
                    f"{COMMENTS} (one per grown count)",
                    reads_for_comments == COMMENTS,
                ),
                Figure(
                    "comment in Sentry to thread reply p50 / max",
                    f"{percentile(delays, 0.5):.2f} / {max(delays):.2f} s",
                ),
                Figure(
                    "comment in Sentry to thread reply p95",
                    f"{p95:.2f} s",
                    f"<= 2 cycles ({2 * window_seconds / measured:.2f} s)",
                    p95 <= 2 * window_seconds / measured,
                ),
                Figure("bot exit code (SIGTERM)", str(code), "0", code == 0),
            ],
        )


def sink() -> None:
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.add_member("bo@example.com", name="Bo Berg")
        slack.add_channel(CHANNEL, "alerts")
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        env = bot_env(
            Path(tmp),
            sentry,
            slack,
            config=config,
            POLL_INTERVAL_SECONDS="3600",
            STORM_THRESHOLD="100",
        )
        with InProcessBot(env, workdir=Path(tmp)) as bot:
            bot.wait_ready()
            bot.poll_now()
            issues = [sentry.create_issue("web", f"SinkError{n}: x") for n in range(SINK_CARDS)]
            bot.poll_now()
            poll_until(lambda: len(slack.messages(CHANNEL)) >= SINK_CARDS, 30)
            cards = {
                (m.metadata or {}).get("event_payload", {}).get("issue_id"): m.ts
                for m in slack.messages(CHANNEL)
            }
            assert bot.runtime is not None
            comments = bot.runtime.parts.comments
            delays: list[float] = []
            for n, issue in enumerate(issues[:COMMENTS]):
                text = f"webhook comment {n}"
                written = time.monotonic()
                sentry.add_comment(issue["id"], text, by="bo@example.com")
                bot.call(comments.comment_created(issue["id"]))
                poll_until(lambda i=issue, t=text: replied(slack, cards[i["id"]], t), 30)
                delays.append(time.monotonic() - written)
        p95 = percentile(delays, 0.95)
        print_table(
            f"comments by the webhook entry point: {SINK_CARDS} cards ({elapsed(started)})",
            [
                Figure("comment in Sentry to thread reply p50", f"{percentile(delays, 0.5):.3f} s"),
                Figure(
                    "comment in Sentry to thread reply p95",
                    f"{p95:.3f} s",
                    f"< {TARGET_SINK_P95:g} s",
                    p95 < TARGET_SINK_P95,
                ),
                Figure("comment in Sentry to thread reply max", f"{max(delays):.3f} s"),
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", nargs="?", default="all", choices=["poll", "sink", "all"])
    parser.add_argument(
        "--interval", type=int, default=1, help="POLL_INTERVAL_SECONDS for `poll` (default 1)"
    )
    args = parser.parse_args()
    if args.section in ("poll", "all"):
        poll(args.interval)
    if args.section in ("sink", "all"):
        sink()


if __name__ == "__main__":
    main()
