"""The Home tab: time from opening it to `views.publish`, and Sentry requests per open.

`--people` Slack users (default 30) are Sentry members of one team; each has 100 unresolved
issues assigned to them and the team 100 more (so every tab lists 20 + 20 of 100 + 100). The
real bot (`python -m bot`, HTTP mode) gets a signed `app_home_opened` event per person, one
after another: the first open of each person searches Sentry (cold), the second, right after,
is served from the per-person cache (warm). The figure is the moment the fake Slack received
the `views.publish` call minus the moment the event was sent. Sentry requests are counted
around each open: the very first open also loads the organization's members and teams for the
identity check (cached for every later click and open).

    .venv/bin/python bench/home.py [--people N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cards import poll_until  # noqa: E402
from bench.common import Figure, bot_process, fakes, percentile, print_table  # noqa: E402
from tests.e2e.harness import TOKENS  # noqa: E402
from tests.fakes.slack_requests import send_event  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402
from tests.home_desk import app_home_opened  # noqa: E402

ASSIGNED = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30)
    args = parser.parse_args()
    started = time.monotonic()
    with fakes() as (sentry, slack), tempfile.TemporaryDirectory() as tmp:
        sentry.create_project("web")
        people = [f"U0HOME{n:04d}" for n in range(args.people)]
        emails = [f"person{n}@acme.test" for n in range(args.people)]
        for user, email in zip(people, emails, strict=True):
            slack.add_user(user, email, user.lower())
            sentry.add_member(email, name=email.split("@")[0])
        team = sentry.add_team("backend", members=emails)
        for email in emails:
            for n in range(ASSIGNED):
                issue = sentry.create_issue("web", f"KeyError {email} {n}")
                sentry.assign(issue["id"], email)
        for n in range(ASSIGNED):
            issue = sentry.create_issue("web", f"TimeoutError team {n}")
            sentry.assign(issue["id"], f"team:{team['id']}")
        process = bot_process(
            sentry, slack, Path(tmp), config="routes: []\n", POLL_INTERVAL_SECONDS="3600"
        )
        with process:
            process.wait_ready()
            cold: list[float] = []
            warm: list[float] = []
            first_requests: list[int] = []
            cold_requests: list[int] = []
            warm_requests: list[int] = []
            for index, user in enumerate(people):
                for kind in ("cold", "warm"):
                    publishes = len(slack.calls("views.publish"))
                    shown = _versions(slack, user)
                    requests = len(sentry.requests)
                    sent = time.time()
                    reply = send_event(
                        f"{process.url}/slack/events",
                        app_home_opened(user),
                        TOKENS["SLACK_SIGNING_SECRET"],
                    )
                    assert reply.status == 200, reply
                    poll_until(partial(_published_after, slack, user, shown), 30, 0.002)
                    call = slack.calls("views.publish")[publishes]
                    home = slack.home_view(user)
                    assert home is not None
                    assert home.view["blocks"][0]["block_id"] == "home:mine:header", home.view
                    seconds = call.received_at - sent
                    count = len(sentry.requests) - requests
                    if kind == "warm":
                        warm.append(seconds)
                        warm_requests.append(count)
                    else:
                        cold.append(seconds)
                        (first_requests if index == 0 else cold_requests).append(count)
    p95_cold, p95_warm = percentile(cold, 0.95), percentile(warm, 0.95)
    print_table(
        f"Home tab, {args.people} people with {ASSIGNED} issues each and {ASSIGNED} for their "
        f"team ({time.monotonic() - started:.0f} s)",
        [
            Figure(
                "open to views.publish, first open, p50", f"{percentile(cold, 0.5) * 1000:.0f} ms"
            ),
            Figure(
                "open to views.publish, first open, p95",
                f"{p95_cold * 1000:.0f} ms",
                "< 1000 ms",
                p95_cold < 1.0,
            ),
            Figure("open to views.publish, reopen, p50", f"{percentile(warm, 0.5) * 1000:.0f} ms"),
            Figure(
                "open to views.publish, reopen, p95",
                f"{p95_warm * 1000:.0f} ms",
                "< 300 ms",
                p95_warm < 0.3,
            ),
            Figure("Sentry requests, very first open", str(first_requests[0])),
            Figure("Sentry requests, each later first open", _spread(cold_requests), "3"),
            Figure("Sentry requests, reopen", _spread(warm_requests), "0", max(warm_requests) == 0),
        ],
    )


def _versions(slack: FakeSlack, user: str) -> int:
    home = slack.home_view(user)
    return 0 if home is None else len(home.published)


def _published_after(slack: FakeSlack, user: str, count: int) -> bool:
    return _versions(slack, user) > count


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


if __name__ == "__main__":
    main()
