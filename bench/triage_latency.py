"""Triage from the card: acknowledgement latency, click-to-updated-card time, and the
Sentry requests per cycle that keep 1,000 tracked cards fresh.

- `ack`: 80 cards are posted; then the fake Sentry answers every request after 1 s and
  50 threads click "Resolve now" on 50 distinct cards at the same moment (signed
  `block_actions` over HTTP to /slack/events). The figure is each HTTP response's time,
  i.e. the acknowledgement Slack waits for (it gives up after 3 s).
- `update`: with Sentry answering at once, 30 clicks one after another on the other 30
  cards; the figure is the moment the fake Slack replaced the card with its resolved
  version minus the moment the click was sent.
- `fresh`: 1,000 cards posted in the fake Slack and recorded as posted in the SQLite store
  (through the bot's own `CardStore`), their issues in the fake Sentry; every Sentry
  request is counted over 10 cycles at POLL_INTERVAL_SECONDS=1. Then 20 issues change in
  Sentry's UI and the time until all 20 cards show it is measured.

    .venv/bin/python bench/triage_latency.py [ack+update | fresh | all]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bench.cards import (  # noqa: E402
    Click,
    add_clicker,
    build_click,
    card_matches_sentry,
    issue_cards,
    poll_until,
    shown_at,
)
from bench.common import (  # noqa: E402
    ORG,
    Figure,
    bot_process,
    cycles,
    elapsed,
    fakes,
    is_cycle_start,
    is_issue_list,
    percentile,
    print_table,
    wait_cycles,
)
from bench.ledger import PostedCard, prefill_posted  # noqa: E402
from bot.outbox import metadata  # noqa: E402
from bot.sentry.models import Issue  # noqa: E402
from bot.settings import async_database_url  # noqa: E402
from bot.slack.card import build_issue_card  # noqa: E402
from tests.e2e.harness import TOKENS  # noqa: E402
from tests.fakes.slack_server import FakeSlack, Message  # noqa: E402

CHANNEL = "C0TRIAGE1"
PARALLEL = 50
SEQUENTIAL = 30
SENTRY_LATENCY = 1.0
TARGET_ACK_P99_MS = 100.0
TARGET_UPDATE_P95 = 1.0
TRACKED = 1_000
FRESH_CYCLES = 10
CHANGED = 20
TARGET_REQUESTS = 11.0


def timed_post(
    url: str, body: bytes, headers: dict[str, str], start: threading.Barrier, out: list[float]
) -> None:
    """Send one click when every thread is ready; time the whole exchange (connect included)."""
    parts = urlsplit(url)
    start.wait()
    began = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    finally:
        conn.close()
    out.append(time.perf_counter() - began if status == 200 else -1.0)


def fire(clicks: list[dict[str, str]]) -> list[float]:
    """Every click from its own thread at the same moment; seconds per answer (-1: not 200)."""
    barrier = threading.Barrier(len(clicks))
    out: list[float] = []
    threads = [
        threading.Thread(
            target=timed_post,
            args=(c["url"], c["body"].encode(), json.loads(c["headers"]), barrier, out),
        )
        for c in clicks
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return out


def fire_elsewhere(clicks: list[Click]) -> list[float]:
    """`fire` in a separate process, so the fakes serving the bot (threads of this
    process) do not compete with the clicking threads for this interpreter's lock."""
    payload = [
        {"url": c.url, "body": c.body, "headers": json.dumps(c.signed_headers())} for c in clicks
    ]
    done = subprocess.run(
        [sys.executable, __file__, "--fire"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    timings: list[float] = json.loads(done.stdout)
    return timings


def send_one(click: Click) -> float:
    """One click from this thread; seconds to the answer (-1: not 200)."""
    out: list[float] = []
    timed_post(click.url, click.body.encode(), click.signed_headers(), threading.Barrier(1), out)
    return out[0]


def resolved_by(text: str) -> bool:
    return "Resolved by" in text


def ack_and_update() -> None:
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
        slack.add_channel(CHANNEL, "alerts")
        add_clicker(sentry, slack)
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        # One card per issue even when all 80 arrive in one cycle.
        bot = bot_process(sentry, slack, Path(tmp), config=config, STORM_THRESHOLD="1000")
        with bot:
            bot.wait_ready(timeout=60)
            wait_cycles(sentry, cycles(sentry) + 1)
            made = [
                str(sentry.create_issue("web", f"TriageError{n}: to click")["id"])
                for n in range(1 + PARALLEL + SEQUENTIAL)
            ]
            poll_until(lambda: len(issue_cards(slack, CHANNEL)) >= len(made), 60, every=0.2)
            cards = issue_cards(slack, CHANNEL)
            ts_of = {i: cards[i][0].ts for i in made}

            def card(issue_id: str) -> Message:
                return slack.message(CHANNEL, ts_of[issue_id])

            def is_resolved(issue_id: str) -> bool:
                return resolved_by(json.dumps(card(issue_id).blocks))

            warm_up, made = made[0], made[1:]

            # The first click after start pays for lazy set-up; measured on its own.
            first = build_click(bot.url, slack, cards[warm_up][0], "issue.resolve", "Resolve now")
            cold = send_one(first)
            poll_until(lambda: resolved_by(json.dumps(card(warm_up).blocks)), 10)

            # a. 50 parallel clicks while Sentry takes 1 s per request.
            clicks = [
                build_click(bot.url, slack, cards[i][0], "issue.resolve", "Resolve now")
                for i in made[:PARALLEL]
            ]
            sentry.latency = SENTRY_LATENCY
            clicked_at = time.time()
            replies = fire_elsewhere(clicks)
            poll_until(
                lambda: all(resolved_by(json.dumps(card(i).blocks)) for i in made[:PARALLEL]),
                120,
            )
            slow_updates = [
                (shown_at(card(i), resolved_by, clicked_at) or 0) - clicked_at
                for i in made[:PARALLEL]
            ]
            sentry.latency = 0.0

            # b. 30 clicks one after another, Sentry answering at once.
            updates: list[float] = []
            acks: list[float] = []
            for issue_id in made[PARALLEL:]:
                time.sleep(0.2)
                click = build_click(bot.url, slack, card(issue_id), "issue.resolve", "Resolve now")
                sent = time.time()
                acks.append(send_one(click))
                poll_until(partial(is_resolved, issue_id), 10, 0.01)
                at = shown_at(card(issue_id), resolved_by, sent)
                assert at is not None
                updates.append(at - sent)
            puts = sentry.count("PUT")
            code = bot.stop()

        ack_ms = [1000 * seconds for seconds in replies if seconds >= 0]
        ok = len(ack_ms)
        p99 = percentile(ack_ms, 0.99)
        p95 = percentile(updates, 0.95)
        print_table(
            f"triage ack: {PARALLEL} parallel clicks on {PARALLEL} distinct cards, "
            f"fake Sentry answering after {SENTRY_LATENCY:g} s",
            [
                Figure("HTTP 200 answers", f"{ok} / {len(replies)}", str(PARALLEL), ok == PARALLEL),
                Figure("ack p50", f"{percentile(ack_ms, 0.5):.1f} ms"),
                Figure(
                    "ack p99",
                    f"{p99:.1f} ms",
                    f"< {TARGET_ACK_P99_MS:g} ms",
                    p99 < TARGET_ACK_P99_MS,
                ),
                Figure("ack max", f"{max(ack_ms):.1f} ms"),
                Figure("ack of the first click after start (alone)", f"{1000 * cold:.1f} ms"),
                Figure(
                    "click to updated card under 1 s Sentry (p50 / max)",
                    f"{percentile(slow_updates, 0.5):.2f} / {max(slow_updates):.2f} s",
                ),
            ],
        )
        print_table(
            f"triage update: {SEQUENTIAL} clicks one after another, Sentry answering at once "
            f"({elapsed(started)})",
            [
                Figure("click to updated card p50", f"{percentile(updates, 0.5):.3f} s"),
                Figure(
                    "click to updated card p95",
                    f"{p95:.3f} s",
                    f"< {TARGET_UPDATE_P95:g} s",
                    p95 < TARGET_UPDATE_P95,
                ),
                Figure("click to updated card max", f"{max(updates):.3f} s"),
                Figure("ack p50 (one at a time)", f"{1000 * percentile(acks, 0.5):.1f} ms"),
                Figure(
                    "Sentry PUTs (one per click)",
                    str(puts),
                    str(1 + PARALLEL + SEQUENTIAL),
                    puts == 1 + PARALLEL + SEQUENTIAL,
                ),
                Figure("bot exit code (SIGTERM)", str(code), "0", code == 0),
            ],
        )


# ---- c. requests per cycle for 1,000 tracked cards ------------------------------------------


def post_cards(slack: FakeSlack, issues: list[Issue]) -> dict[str, str]:
    """The 1,000 cards as the bot would have posted them; message ts by issue id."""
    client = WebClient(token=TOKENS["SLACK_BOT_TOKEN"], base_url=slack.api_url)
    posted: dict[str, str] = {}
    for issue in issues:
        card = build_issue_card(issue)
        reply = client.chat_postMessage(
            channel=CHANNEL,
            text=card["text"],
            blocks=card["blocks"],
            metadata=metadata.encode("card", [f"issue:{issue.id}"]),
        )
        posted[issue.id] = str(reply["ts"])
    return posted


def fresh() -> None:
    rng = random.Random(20261126)
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
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
        bot = bot_process(sentry, slack, Path(tmp), config=config)
        cards = [PostedCard(issue, CHANNEL, posted[issue.id], now) for issue in issues]
        asyncio.run(prefill_posted(async_database_url(bot.env["DATABASE_URL"]), cards, now=now))
        filled = elapsed(started)
        with bot:
            bot.wait_ready(timeout=60)
            first = wait_cycles(sentry, 3)
            window_started = time.monotonic()
            last = wait_cycles(sentry, first + FRESH_CYCLES, timeout=120)
            window_seconds = time.monotonic() - window_started
            log = sentry.requests
            starts = [i for i, r in enumerate(log) if is_cycle_start(r)]
            window = log[starts[first - 1] : starts[last - 1]]
            measured = last - first

            # 20 issues change in Sentry's UI; every one of their cards must follow.
            changed = rng.sample([i.id for i in issues], CHANGED)
            changed_at = time.time()
            cycle_at_change = cycles(sentry)
            for issue_id in changed:
                sentry.set_issue_status(issue_id, "resolved")
            poll_until(
                lambda: all(
                    card_matches_sentry(slack.message(CHANNEL, posted[i]), sentry.issue(i))
                    for i in changed
                ),
                30,
            )
            followed = time.time() - changed_at
            shown = sorted(
                (shown_at(slack.message(CHANNEL, posted[i]), lambda _: True, changed_at) or 0)
                - changed_at
                for i in changed
            )
            cycles_taken = cycles(sentry) - cycle_at_change
            code = bot.stop()

        per_cycle = len(window) / measured
        lookups = sum(1 for r in window if is_issue_list(r) and r.params("group"))
        searches = sum(1 for r in window if is_cycle_start(r))
        edits = sum(len(m.edits) for m in slack.messages(CHANNEL))
        print_table(
            f"fresh cards: {TRACKED:,} tracked cards, POLL_INTERVAL_SECONDS=1, "
            f"cycles {first}..{last} (store filled in {filled}, total {elapsed(started)})",
            [
                Figure(
                    "Sentry requests / cycle",
                    f"{per_cycle:.1f}",
                    f"<= {TARGET_REQUESTS:g}",
                    per_cycle <= TARGET_REQUESTS,
                ),
                Figure("  poll searches / cycle", f"{searches / measured:.1f}"),
                Figure("  group= look-ups / cycle (100 ids each)", f"{lookups / measured:.1f}"),
                Figure(
                    f"{CHANGED} issues changed in Sentry: all cards current after",
                    f"{followed:.2f} s ({cycles_taken} cycle starts)",
                    "<= 2 intervals",
                    followed <= 2.0,
                ),
                Figure(
                    "  first / median / last of those cards updated after",
                    f"{shown[0]:.2f} / {percentile(shown, 0.5):.2f} / {shown[-1]:.2f} s",
                ),
                Figure("card edits in total (only the changed ones)", str(edits), str(CHANGED)),
                Figure("cycles / second while measuring", f"{measured / window_seconds:.2f}"),
                Figure("bot exit code (SIGTERM)", str(code), "0", code == 0),
            ],
        )


def main() -> None:
    if sys.argv[1:] == ["--fire"]:
        print(json.dumps(fire(json.loads(sys.stdin.read()))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", nargs="?", default="all", choices=["ack+update", "fresh", "all"])
    args = parser.parse_args()
    if args.section in ("ack+update", "all"):
        ack_and_update()
    if args.section in ("fresh", "all"):
        fresh()


if __name__ == "__main__":
    main()
