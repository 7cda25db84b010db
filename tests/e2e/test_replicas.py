"""Several replicas on one PostgreSQL database: one card per issue, one poller at a time,
a dead leader replaced, and any replica serving any click."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import CHANNEL, BotFactory, wait_polls
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

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def cards(slack: FakeSlack, issue_id: str) -> list[object]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "sentry_issue_card"
        and m.metadata["event_payload"]["issue_id"] == issue_id
    ]


def leads(bot: BotProcess) -> bool:
    """Alive, and its last word on leadership was taking it."""
    said = [line for line in bot.lines if "polling (" in line]
    alive = bot.process is not None and bot.process.poll() is None
    return alive and bool(said) and "now leads" in said[-1]


def leader(bots: list[BotProcess]) -> BotProcess:
    leaders = [b for b in bots if leads(b)]
    assert len(leaders) == 1, [b.log() for b in bots]
    return leaders[0]


async def test_three_replicas_post_each_card_once_and_survive_the_leaders_death(
    make_bot: BotFactory,
    sentry: FakeSentry,
    slack: FakeSlack,
    postgres_database: str,
) -> None:
    url = await fresh_postgres_database(postgres_database)
    bots = [make_bot(DATABASE_URL=url) for _ in range(3)]
    for bot in bots:
        bot.start()
    for bot in bots:
        bot.wait_ready()
    wait_polls(sentry, 2)
    first = [sentry.create_issue("web", f"Replica test {n}") for n in range(5)]
    slack.wait_for(lambda: all(len(cards(slack, i["id"])) >= 1 for i in first), 20)

    old = leader(bots)
    old.stop(signal.SIGKILL)
    survivors = [b for b in bots if b is not old]
    after = sentry.create_issue("web", "After the leader died")
    slack.wait_for(lambda: len(cards(slack, after["id"])) == 1, 20)
    leader(survivors)
    wait_polls(sentry, 3)

    for issue in [*first, after]:
        assert len(cards(slack, issue["id"])) == 1

    # Any replica handles a click: send it to one that is not leading.
    follower = next(b for b in survivors if b is not leader(survivors))
    slack.add_user("U0ANA0001", "ana@example.com", "ana")
    sentry.add_member("ana@example.com", name="Ana Lima", role="member")
    [card] = cards(slack, after["id"])
    option = next(
        o["value"]
        for b in card.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "issue.resolve"
        for o in e["options"]
        if o["text"]["text"] == "Resolve now"
    )
    action = action_for(card.blocks, "issue.resolve", value=option, action_ts=f"{time.time():.6f}")
    payload = block_actions(
        "U0ANA0001", "T111", CHANNEL, card.as_slack(), action, slack.new_response_url()
    )
    body = interactive_body(payload)
    reply = post_to_bot(
        f"{follower.url}/slack/events",
        body,
        sign(body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time())),
    )
    assert reply.status == 200
    slack.wait_for(lambda: "Resolved by" in json.dumps(cards(slack, after["id"])[0].blocks), 10)
    assert sentry.issue(after["id"])["status"] == "resolved"
