"""Seconds from an issue's appearance in Sentry to its card in Slack, at a 1 s poll interval.

Issues are created in the fake Sentry at random moments (uniform gaps, so they land
anywhere within a cycle); the latency of each is its card's arrival in the fake Slack
(`Message.posted_at`) minus the moment the issue was created.

    .venv/bin/python bench/alert_latency.py [--issues N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    Figure,
    bot_process,
    elapsed,
    fakes,
    percentile,
    print_table,
    wait_cycles,
)
from tests.fakes.slack_server import FakeSlack  # noqa: E402

CHANNEL = "C0LATENCY"
MAX_GAP_SECONDS = 1.5
TARGET_P95_SECONDS = 2.0


def card_times(slack: FakeSlack) -> dict[str, float]:
    """When each issue's card reached Slack, by issue id."""
    return {
        str(m.metadata["event_payload"]["issue_id"]): m.posted_at
        for m in slack.messages(CHANNEL)
        if m.metadata and m.metadata.get("event_type") == "sentry_issue_card"
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=40, help="issues created (default 40)")
    args = parser.parse_args()
    rng = random.Random(20261126)
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
        slack.add_channel(CHANNEL, "alerts")
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        bot = bot_process(sentry, slack, Path(tmp), config=config)
        created: dict[str, float] = {}
        with bot:
            bot.wait_ready(timeout=60)
            wait_cycles(sentry, 2)
            for number in range(args.issues):
                # A bench may sleep: this spreads creations over random points of the cycle.
                time.sleep(rng.uniform(0, MAX_GAP_SECONDS))
                issue = sentry.create_issue("web", f"LatencyError{number}: appeared")
                created[issue["id"]] = datetime.fromisoformat(issue["firstSeen"]).timestamp()
            slack.wait_for(lambda: len(card_times(slack)) >= len(created), timeout=60)
            code = bot.stop()
        if code != 0:
            raise SystemExit(f"bot exited {code}:\n{bot.log()}")

        posted = card_times(slack)
        latencies = [posted[issue_id] - at for issue_id, at in created.items()]
        p95 = percentile(latencies, 0.95)
        print_table(
            f"alert latency: {len(latencies)} issues, POLL_INTERVAL_SECONDS=1 ({elapsed(started)})",
            [
                Figure("p50", f"{percentile(latencies, 0.50):.2f} s"),
                Figure(
                    "p95", f"{p95:.2f} s", f"< {TARGET_P95_SECONDS:g} s", p95 < TARGET_P95_SECONDS
                ),
                Figure("max", f"{max(latencies):.2f} s"),
                Figure("min", f"{min(latencies):.2f} s"),
                Figure(
                    "cards posted", str(len(posted)), str(len(created)), len(posted) == len(created)
                ),
            ],
        )


if __name__ == "__main__":
    main()
