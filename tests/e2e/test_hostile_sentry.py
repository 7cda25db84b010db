"""Hostile Sentry data and answers, end to end: `python -m bot` keeps carding every other issue.

Every class of bad data runs in process in tests/usecases/test_hostile_sentry.py; here the
answers that strain the process itself (a body dripped past the deadline, a decompression bomb)
run against the real process, which must stay alive, card the good issue, and show what was
given up on `/metrics`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
from tests.fakes.sentry_hostile import hostile_issue, issue_template
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

pytestmark = pytest.mark.e2e

HOSTILE_ID = "900001"


def cards(slack: FakeSlack) -> dict[str, object]:
    return {
        str(m.metadata["event_payload"]["issue_id"]): m
        for m in slack.messages(CHANNEL)
        if m.thread_ts is None and m.metadata
    }


def metric(base_url: str, name: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def degraded(base_url: str) -> list[str]:
    lines: list[str] = httpx.get(f"{base_url}/healthz", timeout=5).json()["degraded"]
    return lines


@dataclass(frozen=True)
class Case:
    name: str
    arm: Callable[[FakeSentry], None]
    hostile_carded: bool
    # What must show once the good issue is carded: a /healthz line or a /metrics counter.
    health_line: str | None = None
    counter: str | None = None


def raw(kind: str) -> Callable[[FakeSentry], None]:
    def arm(sentry: FakeSentry) -> None:
        template = issue_template(
            org="acme", web_url=sentry.url, project="web", issue_id=int(HOSTILE_ID)
        )
        sentry.serve_raw_issue(hostile_issue(kind, template))

    return arm


CASES = [
    Case(
        "drip",
        lambda sentry: sentry.drip_next(1, interval=3.0, path_contains="/issues/"),
        hostile_carded=False,
        counter="sentry_slack_sentry_deadline_hits_total",
    ),
    Case(
        "gzip_bomb",
        lambda sentry: sentry.gzip_bomb_next(1, path_contains="/issues/"),
        hostile_carded=False,
        counter="sentry_slack_sentry_too_large_total",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_sentry_never_stops_alerting(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, case: Case
) -> None:
    with make_bot() as bot:
        bot.wait_ready()
        wait_polls(sentry, 1)
        case.arm(sentry)
        good = sentry.create_issue("web", f"A good issue next to {case.name}")
        slack.wait_for(lambda: good["id"] in cards(slack), timeout=30)
        wait_polls(sentry, 2, timeout=30)

        assert bot.process is not None
        assert bot.process.poll() is None  # alive
        shown = cards(slack)
        assert (HOSTILE_ID in shown) == case.hostile_carded
        assert "evil.example" not in json.dumps([m.blocks for m in shown.values()])
        if case.health_line is not None:
            assert any(case.health_line in line for line in degraded(bot.url))
        if case.counter is not None:
            assert metric(bot.url, case.counter) >= 1
        assert "Traceback" not in bot.log()
    assert bot.process.returncode == 0
