"""Sentry requests per steady-state poll cycle: 200 projects, 200 routes, 5,000 old issues.

Every project is routed to its own channel with the same query, so the routes form one
group and a cycle should cost one org-level search, plus the fresh-card look-ups. The
5,000 unresolved issues exist before the routes do (none may be posted); 3 new issues
appear during 20 cycles and must become exactly 3 cards.

    .venv/bin/python bench/poll_cost.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    Figure,
    bot_process,
    elapsed,
    fakes,
    is_cycle_start,
    is_issue_list,
    print_table,
    wait_cycles,
)
from tests.fakes.slack_server import FakeSlack, Message  # noqa: E402

PROJECTS = 200
OLD_ISSUES = 5_000
NEW_ISSUES_AT_CYCLES = (5, 10, 15)
FIRST, LAST = 1, 21
QUERY = "is:unresolved"
TARGET_PER_CYCLE = 2.0


def channel_id(number: int) -> str:
    return f"C0P{number:06d}"


def routes_yaml() -> str:
    lines = ["routes:"]
    for number in range(PROJECTS):
        lines += [
            f"  - channel: {channel_id(number)}",
            f"    projects: [p{number:03d}]",
            f'    query: "{QUERY}"',
        ]
    return "\n".join(lines) + "\n"


def card_posts(slack: FakeSlack) -> list[Message]:
    return [
        m for m in slack.messages() if (m.metadata or {}).get("event_type") == "sentry_issue_card"
    ]


def main() -> None:
    rng = random.Random(20261126)
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(UTC)
        for number in range(PROJECTS):
            sentry.create_project(f"p{number:03d}")
            slack.add_channel(channel_id(number), f"alerts-p{number:03d}")
        for number in range(OLD_ISSUES):
            sentry.create_issue(
                f"p{rng.randrange(PROJECTS):03d}",
                f"OldError{number}: before the routes existed",
                first_seen=now - timedelta(seconds=rng.uniform(60, 3 * 86_400)),
            )
        bot = bot_process(sentry, slack, Path(tmp), config=routes_yaml())
        with bot:
            bot.wait_ready(timeout=60)
            for cycle in NEW_ISSUES_AT_CYCLES:
                wait_cycles(sentry, cycle)
                sentry.create_issue(f"p{rng.randrange(PROJECTS):03d}", f"NewError{cycle}: fresh")
            slack.wait_for(lambda: len(card_posts(slack)) >= len(NEW_ISSUES_AT_CYCLES), 30)
            wait_cycles(sentry, LAST + 1)
            code = bot.stop()
        if code != 0:
            raise SystemExit(f"bot exited {code}:\n{bot.log()}")

        log = sentry.requests
        starts = [i for i, r in enumerate(log) if is_cycle_start(r)]
        window = log[starts[FIRST - 1] : starts[LAST - 1]]
        cycles = LAST - FIRST
        searches = sum(1 for r in window if is_issue_list(r))
        group_lookups = sum(1 for r in window if is_issue_list(r) and r.params("group"))
        cards = card_posts(slack)
        per_cycle = searches / cycles
        print_table(
            f"poll cost: {PROJECTS} projects/routes/channels, {OLD_ISSUES:,} old issues, "
            f"cycles {FIRST}..{LAST} ({elapsed(started)})",
            [
                Figure(
                    "org issue-list requests / cycle",
                    f"{per_cycle:.2f}",
                    f"<= {TARGET_PER_CYCLE:g}",
                    per_cycle <= TARGET_PER_CYCLE,
                ),
                Figure("  of which group= look-ups / cycle", f"{group_lookups / cycles:.2f}"),
                Figure("all Sentry requests / cycle", f"{len(window) / cycles:.2f}"),
                Figure("cards posted", str(len(cards)), "3", len(cards) == 3),
                Figure("Slack messages in total", str(len(slack.messages())), "3"),
            ],
        )


if __name__ == "__main__":
    main()
