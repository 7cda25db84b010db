"""Shared Sentry links: time from Slack's `link_shared` event to the bot's chat.unfurl.

`python -m bot` runs in HTTP mode against the fakes. A member of the Sentry organization shares
a message with one issue link; the event is delivered signed to /slack/events (as Slack posts
it) and the figure is the moment the fake Slack received chat.unfurl for that message minus the
moment the event was sent. One warm-up share first (the person's Slack profile and the Sentry
member list are then cached, as in a running installation), then `SAMPLES` shares one after
another, each of a different issue:

- `immediate`: the fake Sentry answers the issue request at once;
- `sentry 1 s`: the fake Sentry answers each issue request after 1 s.

    .venv/bin/python bench/unfurls.py [--samples N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Figure, bot_process, fakes, percentile, print_table  # noqa: E402
from tests.e2e.harness import TOKENS  # noqa: E402
from tests.fakes import slack_requests as sr  # noqa: E402
from tests.fakes.sentry_server import FakeSentry  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402

CHANNEL = "C0UNFURL1"
MEMBER = "U0ANA0001"
SAMPLES = 30
SENTRY_LATENCY = 1.0
TARGET_IMMEDIATE_P95 = 0.5
TARGET_SLOW_P95 = SENTRY_LATENCY + 0.5


def unfurl_seconds(
    sentry: FakeSentry, slack: FakeSlack, bot_url: str, project: str, delay: float
) -> float:
    """Share one new issue's link and return the seconds until chat.unfurl reached Slack."""
    issue = sentry.create_issue(project, f"Benchmark issue {time.monotonic_ns()}")
    url = f"{sentry.url}/organizations/acme/issues/{issue['id']}/"
    if delay:
        sentry.slow_next(1, delay, path_contains=f"/issues/{issue['id']}/")
    event = slack.share_links(CHANNEL, MEMBER, [url])
    ts = event["message_ts"]
    sent = time.time()
    reply = sr.send_event(
        f"{bot_url}/slack/events", sr.event_callback(event), TOKENS["SLACK_SIGNING_SECRET"]
    )
    if reply.status != 200:
        raise RuntimeError(f"the bot answered the event with {reply.status}")

    def unfurled() -> list[float]:
        return [
            call.received_at
            for call in slack.calls("chat.unfurl")
            if call.params.get("ts") == ts or call.params.get("unfurl_id") == event["unfurl_id"]
        ]

    slack.wait_for(lambda: bool(unfurled()), 30)
    return unfurled()[0] - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=SAMPLES)
    samples = parser.parse_args().samples
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as workdir:
        sentry.create_project("web")
        sentry.add_member("ana@example.com", name="Ana Lima", role="member")
        slack.add_channel(CHANNEL, "unfurls")
        slack.add_user(MEMBER, "ana@example.com", "ana")
        config = f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        process = bot_process(
            sentry, slack, Path(workdir), config=config, POLL_INTERVAL_SECONDS="3600"
        )
        with process:
            process.wait_ready()
            unfurl_seconds(sentry, slack, process.url, "web", 0.0)  # warm-up
            immediate = [
                unfurl_seconds(sentry, slack, process.url, "web", 0.0) for _ in range(samples)
            ]
            slow = [
                unfurl_seconds(sentry, slack, process.url, "web", SENTRY_LATENCY)
                for _ in range(samples)
            ]
    p95_now, p95_slow = percentile(immediate, 0.95), percentile(slow, 0.95)
    print_table(
        f"link_shared → chat.unfurl, {samples} shares each (HTTP mode, one link per message)",
        [
            Figure("p50, Sentry answers at once", f"{percentile(immediate, 0.5) * 1000:.0f} ms"),
            Figure(
                "p95, Sentry answers at once",
                f"{p95_now * 1000:.0f} ms",
                f"< {TARGET_IMMEDIATE_P95 * 1000:.0f} ms",
                p95_now < TARGET_IMMEDIATE_P95,
            ),
            Figure("p50, Sentry answers after 1 s", f"{percentile(slow, 0.5) * 1000:.0f} ms"),
            Figure(
                "p95, Sentry answers after 1 s",
                f"{p95_slow * 1000:.0f} ms",
                f"< {TARGET_SLOW_P95 * 1000:.0f} ms",
                p95_slow < TARGET_SLOW_P95,
            ),
        ],
    )


if __name__ == "__main__":
    main()
