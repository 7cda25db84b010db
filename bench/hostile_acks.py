"""How fast the running process answers hostile and stale Slack requests (HTTP mode).

Every row of the end-to-end table (`tests/e2e/test_hostile_requests.py`: unsigned, forged,
stale, unreadable, unknown control / type / dialog / command, ids that name no issue) is sent
`--rounds` times, one after another, to `python -m bot` on the fake Sentry and Slack. The figure is
each HTTP response's time as the sender sees it, the acknowledgement Slack waits for (it gives up
after 3 s), per row: median and worst; then the worst of all, and whether any status differed.

    .venv/bin/python bench/hostile_acks.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import bot_process, fakes  # noqa: E402
from tests.e2e.test_hostile_requests import CHANNEL, TABLE, TS, send  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as workdir:
        slack.add_channel(CHANNEL, "alerts")
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        sentry.create_project("web")
        with bot_process(sentry, slack, Path(workdir), config=config) as bot:
            bot.wait_ready()
            print(f"{'request':<44} {'status':>6} {'median ms':>10} {'worst ms':>9}")
            worst, wrong = 0.0, 0
            for row in TABLE:
                times: list[float] = []
                statuses: set[int] = set()
                for _ in range(rounds):
                    url = slack.new_response_url(channel=CHANNEL, message_ts=TS)
                    reply = send(bot, row, row.body(url))
                    times.append(reply.elapsed * 1000)
                    statuses.add(reply.status)
                wrong += statuses != {row.status}
                worst = max(worst, *times)
                shown = ",".join(str(s) for s in sorted(statuses))
                print(
                    f"{row.name:<44} {shown:>6} {statistics.median(times):>10.1f}"
                    f" {max(times):>9.1f}"
                )
            changed = [r for r in sentry.requests if r.method in ("PUT", "POST", "DELETE")]
            tracebacks = bot.log().count("Traceback")
            print(f"\n{len(TABLE)} kinds x {rounds} rounds")
            print(f"worst acknowledgement {worst:.1f} ms (target < 3000 ms){mark(worst < 3000)}")
            print(f"rows with an unexpected status: {wrong} (target 0){mark(wrong == 0)}")
            print(f"Sentry changes: {len(changed)} (target 0){mark(not changed)}")
            print(f"tracebacks in the log: {tracebacks} (target 0){mark(tracebacks == 0)}")


def mark(met: bool) -> str:
    return "" if met else "  MISSED"


if __name__ == "__main__":
    main()
