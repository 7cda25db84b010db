"""Hostile Sentry cases and what must hold after each, shared by the in-process table
(`tests/usecases/test_hostile_sentry.py`) and the end-to-end one (`tests/e2e/`, same name).

A case arms the fake Sentry with one class of bad data or answer; the test then creates a good
issue beside it, waits for its card, and calls `assert_kept_alerting`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.conftest import ALERTS_CHANNEL as CHANNEL
from tests.fakes.sentry_hostile import hostile_issue, issue_template
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import Message

HOSTILE_ID = "900001"


@dataclass(frozen=True)
class Case:
    name: str
    arm: Callable[[FakeSentry], None]
    hostile_carded: bool
    # What must show once the good issue is carded: a /healthz line or a /metrics counter.
    health_line: str | None = None
    counter: str | None = None


def raw(kind: str) -> Callable[[FakeSentry], None]:
    """A case whose hostile issue is served as Sentry's raw JSON (`tests/fakes/sentry_hostile`)."""

    def arm(sentry: FakeSentry) -> None:
        template = issue_template(
            org="acme", web_url=sentry.url, project="web", issue_id=int(HOSTILE_ID)
        )
        sentry.serve_raw_issue(hostile_issue(kind, template))

    return arm


def cards(slack: FakeSlack) -> dict[str, Message]:
    """The cards in the channel, by the issue id their metadata names."""
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


def assert_kept_alerting(case: Case, slack: FakeSlack, base_url: str, log: str) -> None:
    """The hostile issue is carded or not as the case says, nothing of it leaks into a card,
    what was given up shows on /healthz or /metrics, and nothing crashed."""
    shown = cards(slack)
    assert (HOSTILE_ID in shown) == case.hostile_carded
    assert "evil.example" not in json.dumps([m.blocks for m in shown.values()])
    if case.health_line is not None:
        assert any(case.health_line in line for line in degraded(base_url))
    if case.counter is not None:
        assert metric(base_url, case.counter) >= 1
    assert "Traceback" not in log
