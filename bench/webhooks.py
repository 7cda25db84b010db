"""Sentry webhooks: seconds from a delivery to its card, the acknowledgement under a burst, and
the Sentry requests each delivery costs.

The bot runs as `python -m bot` with `POLL_INTERVAL_SECONDS=3600`, so every card comes from a
webhook (the first poll, at start, is waited for). The fake Sentry sends each delivery as Sentry
does (`tests/fakes/sentry_webhooks.py`). Latency is the card's arrival in the fake Slack
(`Message.posted_at`) minus the moment the delivery was sent; the acknowledgement is the
sender's round trip of the HTTP request.

    .venv/bin/python bench/webhooks.py [--issues N] [--burst N] [--burst-seconds S]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Figure, bot_process, elapsed, fakes, percentile, print_table  # noqa: E402
from tests.fakes.sentry_server import FakeSentry  # noqa: E402
from tests.fakes.sentry_webhooks import Answer  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402

CHANNEL = "C0WEBHOOK"
SECRET = "bench-client-secret-0123456789"
TARGET_P95_SECONDS = 2.0
TARGET_ACK_P99_SECONDS = 1.0


def card_times(slack: FakeSlack) -> dict[str, list[float]]:
    """When each issue's card(s) reached Slack, by issue id."""
    found: dict[str, list[float]] = {}
    for m in slack.messages(CHANNEL):
        if m.metadata and m.metadata.get("event_type") == "sentry_issue_card":
            found.setdefault(str(m.metadata["event_payload"]["issue_id"]), []).append(m.posted_at)
    return found


def poll_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


def latency(
    sentry: FakeSentry, slack: FakeSlack, count: int, rng: random.Random
) -> tuple[list[float], int]:
    """Issues created one at a time, each announced by its `created` webhook; the seconds to
    each card, and the Sentry requests made meanwhile."""
    before = len(sentry.requests)
    seconds: list[float] = []
    for n in range(count):
        issue = sentry.create_issue("web", f"Webhook latency {n} {rng.random():.6f}")
        sent = time.time()
        answer = sentry.send_issue_webhook("created", issue["id"])
        assert answer.status == 200, answer
        if not poll_until(lambda i=issue["id"]: i in card_times(slack), 30):
            raise SystemExit(f"no card for issue {issue['id']}")
        seconds.append(card_times(slack)[issue["id"]][0] - sent)
        time.sleep(rng.uniform(0.05, 0.3))
    return seconds, len(sentry.requests) - before


def burst(
    sentry: FakeSentry, slack: FakeSlack, count: int, spread: float
) -> tuple[list[Answer], float, int]:
    """`count` new issues' webhooks sent over `spread` seconds by 32 threads: the answers, the
    seconds until every issue has its card, and the Sentry requests made."""
    assert sentry.webhooks is not None
    sender = sentry.webhooks
    issues = [sentry.create_issue("web", f"Burst {n}") for n in range(count)]
    bodies = [
        sender.body("created", {"issue": sentry.issue(i["id"])}, {"type": "application"})
        for i in issues
    ]
    before = len(sentry.requests)
    answers: list[Answer] = []
    lock = threading.Lock()
    started = time.monotonic()

    def send(index: int) -> None:
        wait = started + index * spread / count - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        answer = sender.post(bodies[index], sender.headers("issue", bodies[index]))
        with lock:
            answers.append(answer)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(send, range(count)))
    ids = {i["id"] for i in issues}
    poll_until(lambda: ids <= card_times(slack).keys(), 120)
    done = time.monotonic() - started
    return answers, done, len(sentry.requests) - before


def redraw_cost(sentry: FakeSentry, slack: FakeSlack, count: int) -> tuple[int, int]:
    """`resolved` deliveries for carded issues: Sentry requests made, cards edited."""
    carded = list(card_times(slack))[:count]
    before = len(sentry.requests)
    edits = sum(len(m.edits) for m in slack.messages(CHANNEL))
    for issue_id in carded:
        sentry.set_issue_status(issue_id, "resolved")
        assert sentry.send_issue_webhook("resolved", issue_id).status == 200
    poll_until(lambda: sum(len(m.edits) for m in slack.messages(CHANNEL)) >= edits + count, 30)
    return len(sentry.requests) - before, sum(len(m.edits) for m in slack.messages(CHANNEL)) - edits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=40, help="issues per latency run")
    parser.add_argument("--burst", type=int, default=500, help="webhooks in the burst")
    parser.add_argument("--burst-seconds", type=float, default=10.0, help="burst length")
    args = parser.parse_args()
    rng = random.Random(20261130)
    started = time.monotonic()
    figures: list[Figure] = []
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
        slack.add_channel(CHANNEL, "alerts")
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        bot = bot_process(
            sentry,
            slack,
            Path(tmp),
            config=config,
            POLL_INTERVAL_SECONDS="3600",
            SENTRY_WEBHOOK_SECRET=SECRET,
            STORM_THRESHOLD="1000",
        )
        with bot:
            bot.wait_ready()
            bot.wait_for_log(r"polling \(")
            sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET)

            fast, fast_requests = latency(sentry, slack, args.issues, rng)
            figures += [
                Figure("webhook → card p50", f"{percentile(fast, 0.5):.3f} s"),
                Figure(
                    "webhook → card p95",
                    f"{percentile(fast, 0.95):.3f} s",
                    f"< {TARGET_P95_SECONDS:.0f} s",
                    percentile(fast, 0.95) < TARGET_P95_SECONDS,
                ),
                Figure("Sentry requests per created webhook", f"{fast_requests / args.issues:.2f}"),
            ]
            redraw_requests, edited = redraw_cost(sentry, slack, 10)
            figures += [
                Figure(
                    "Sentry requests per resolved webhook (10 in a row)",
                    f"{redraw_requests / 10:.2f}",
                ),
                Figure("cards redrawn by 10 resolved webhooks", str(edited), "10", edited == 10),
            ]

            sentry.latency = 1.0
            slow, _ = latency(sentry, slack, max(10, args.issues // 2), rng)
            sentry.latency = 0.0
            figures += [
                Figure(
                    "webhook → card p50, Sentry answering after 1 s",
                    f"{percentile(slow, 0.5):.3f} s",
                ),
                Figure(
                    "webhook → card p95, Sentry answering after 1 s",
                    f"{percentile(slow, 0.95):.3f} s",
                    f"< {TARGET_P95_SECONDS:.0f} s",
                    percentile(slow, 0.95) < TARGET_P95_SECONDS,
                ),
            ]

            answers, settled, burst_requests = burst(sentry, slack, args.burst, args.burst_seconds)
            acks = [a.seconds for a in answers]
            refused = sum(1 for a in answers if a.status != 200)
            shown = card_times(slack)
            burst_cards = [v for k, v in shown.items() if k.isdigit()]
            doubled = sum(1 for v in burst_cards if len(v) != 1)
            missing = args.burst + args.issues + max(10, args.issues // 2) - len(shown)
            figures += [
                Figure(
                    f"ack p50, {args.burst} webhooks in {args.burst_seconds:.0f} s",
                    f"{percentile(acks, 0.5) * 1000:.1f} ms",
                ),
                Figure(
                    f"ack p99, {args.burst} webhooks in {args.burst_seconds:.0f} s",
                    f"{percentile(acks, 0.99) * 1000:.1f} ms",
                    f"< {TARGET_ACK_P99_SECONDS:.0f} s",
                    percentile(acks, 0.99) < TARGET_ACK_P99_SECONDS,
                ),
                Figure("ack max", f"{max(acks) * 1000:.1f} ms"),
                Figure("burst answers not 200", str(refused), "0", refused == 0),
                Figure("issues without a card", str(missing), "0", missing == 0),
                Figure("issues with more than one card", str(doubled), "0", doubled == 0),
                Figure("burst: seconds until every card is posted", f"{settled:.1f} s"),
                Figure("Sentry requests per burst webhook", f"{burst_requests / args.burst:.3f}"),
            ]

            # The same burst while Sentry answers every request after 1 s.
            sentry.latency = 1.0
            answers, settled, _ = burst(sentry, slack, args.burst, args.burst_seconds)
            sentry.latency = 0.0
            acks = [a.seconds for a in answers]
            refused = sum(1 for a in answers if a.status != 200)
            shown = card_times(slack)
            missing = 2 * args.burst + args.issues + max(10, args.issues // 2) - len(shown)
            doubled = sum(1 for v in shown.values() if len(v) != 1)
            figures += [
                Figure(
                    "ack p99, same burst, Sentry answering after 1 s",
                    f"{percentile(acks, 0.99) * 1000:.1f} ms",
                    f"< {TARGET_ACK_P99_SECONDS:.0f} s",
                    percentile(acks, 0.99) < TARGET_ACK_P99_SECONDS,
                ),
                Figure("  answers not 200", str(refused), "0", refused == 0),
                Figure(
                    "  issues without a card / with more than one",
                    f"{missing} / {doubled}",
                    "0 / 0",
                    missing == doubled == 0,
                ),
                Figure("  seconds until every card is posted", f"{settled:.1f} s"),
            ]
    print_table(f"Sentry webhooks ({elapsed(started)})", figures)


if __name__ == "__main__":
    main()
