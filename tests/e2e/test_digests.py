"""Digests end to end: a per-minute digest from the routes file posts once per minute, across a
restart. The wait is for real minute boundaries (apscheduler fires on the wall clock), so this
scenario takes up to about two minutes; the catch-up of missed periods and `digest now` are
covered with an injected clock in tests/integration/test_digests.py."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.conftest import CHANNEL, BotFactory, routes_yaml
from tests.e2e.harness import TOKENS, BotProcess
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    action_for,
    block_actions,
    interactive_body,
    post_to_bot,
    sign,
)
from tests.fakes.slack_server import FakeSlack

ANA = "U0ANA0001"

pytestmark = pytest.mark.e2e

POSTED = r"digest \d+ posted to " + CHANNEL


def digests(slack: FakeSlack) -> list[object]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_digest"
    ]


def with_issue(slack: FakeSlack) -> Any:
    """The digest that lists the busy issue, if one has been posted."""
    return next((d for d in digests(slack) if "Busy web issue" in str(d.blocks)), None)  # type: ignore[attr-defined]


def period_ends(slack: FakeSlack) -> list[datetime]:
    return [
        datetime.fromisoformat(m.metadata["event_payload"]["period_end"])  # type: ignore[attr-defined]
        for m in digests(slack)
    ]


def click_resolve(bot: BotProcess, slack: FakeSlack, message: Any, issue_id: str) -> None:
    """Pick "Resolve" in the overflow menu of the digest's only issue line, as Slack would."""
    value = f"1|{issue_id}|resolve|now"
    action = action_for(
        message.blocks, "digest.triage", value=value, action_ts=f"{time.time():.6f}"
    )
    response_url = slack.new_response_url(channel=CHANNEL, message_ts=message.ts)
    payload = block_actions(ANA, "T111", CHANNEL, message.as_slack(), action, response_url)
    body = interactive_body(payload)
    headers = sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time()))
    post_to_bot(f"{bot.url}/slack/events", body, headers)


def test_a_per_minute_digest_posts_once_per_minute_across_a_restart(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    slack.add_user(ANA, "ana@example.com", "ana")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    issue = sentry.create_issue("web", "Busy web issue", count=12)
    config = routes_yaml() + f'digests:\n  - channel: {CHANNEL}\n    cron: "* * * * *"\n'
    bot = make_bot(config=config)
    with bot:
        bot.wait_ready()
        # An event now puts the issue in the next minute's window, whichever minute the bot was
        # ready in (a start that straddles a minute boundary first posts an empty digest).
        sentry.add_event(issue["id"])
        slack.wait_for(lambda: with_issue(slack) is not None, timeout=75)
        posted = with_issue(slack)
        before = list(posted.blocks)  # type: ignore[attr-defined]
        # Triage from the digest: Sentry changes, and only that line of the message is redrawn.
        click_resolve(bot, slack, posted, issue["id"])
        sentry.wait_for(lambda: sentry.issue(issue["id"])["status"] == "resolved", 10)
        slack.wait_for(lambda: "Resolved" in str(with_issue(slack).blocks), 10)  # type: ignore[union-attr]
        after = with_issue(slack).blocks  # type: ignore[union-attr]
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(changed) == 1
        assert after[changed[0]]["block_id"].startswith(f"dline:{issue['id']}:")
    first_run = len(digests(slack))
    with bot:
        bot.wait_ready()
        bot.wait_for_log(POSTED, timeout=75)
        slack.wait_for(lambda: len(digests(slack)) > first_run, timeout=5)
    ends = period_ends(slack)
    assert len(ends) == len(set(ends)), ends
    assert all(e.second == 0 for e in ends)
    assert all((b - a).total_seconds() == 60 for a, b in itertools.pairwise(ends)), ends
    assert bot.process is not None
    assert bot.process.returncode == 0
