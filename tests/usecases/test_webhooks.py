"""Sentry webhooks in process: deliveries signed as Sentry signs them reach the bot's HTTP
listener, are answered at once, and end in the same cards as polling would post, once."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CHANNEL
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.sentry_webhooks import WebhookSender
from tests.fakes.slack_server import FakeSlack
from tests.inprocess import InProcessBot
from tests.slack_views import cards_for, top_level
from tests.usecases.conftest import BotFactory

SECRET = "whsec-client-secret-0123456789abcdef"
# Polling would post within the test only by chance: every card here comes from a webhook.
QUIET = {"POLL_INTERVAL_SECONDS": "3600", "SENTRY_WEBHOOK_SECRET": SECRET}


def narrowed(sentry: FakeSentry) -> list[str]:
    """The route searches a webhook made (narrowed to issue ids)."""
    return [
        r.param("query") or ""
        for r in sentry.requests_matching("GET", "/organizations/acme/issues/")
        if "issue.id:" in (r.param("query") or "")
    ]


def drained(bot: InProcessBot, timeout: float = 15.0) -> None:
    """Until every queued delivery has been acted on."""
    assert bot.runtime is not None
    queue = bot.runtime.parts.webhook_queue
    wait_until(lambda: bot.call(queue.pending()) == 0, timeout)


def wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        done.wait(0.05)
    assert predicate(), "condition not met in time"


@contextmanager
def started(make_bot: BotFactory, sentry: FakeSentry, **extra: str) -> Iterator[InProcessBot]:
    """A started bot with webhooks on, the fake Sentry sending its webhooks to it."""
    bot = make_bot(**{**QUIET, **extra})
    with bot:
        bot.wait_ready()
        # The first poll (at start) is over, searches included: from now on only webhooks post
        # and ask Sentry.
        bot.wait_for_log(r"polling \(", timeout=15)
        bot.poll_now()
        # A new issue no route's search finds is looked for once more after a second, not ten,
        # so a test that waits for the queue to drain does not wait out Sentry's search lag.
        assert bot.runtime is not None
        assert bot.runtime.parts.webhooks is not None
        bot.runtime.parts.webhooks.unseen_recheck = timedelta(seconds=1)
        sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET)
        yield bot


def test_a_new_issue_is_carded_from_its_webhook_once_however_often_it_arrives(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with started(make_bot, sentry) as bot:
        sentry.webhook_on_create = True
        issue = sentry.create_issue("web", "KeyError: 'user'", culprit="app.views in profile")
        assert sentry.webhook_answers[-1].status == 200
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=10)
        # Sentry retries, someone replays: still one card, and no more posts.
        for _ in range(3):
            assert sentry.send_issue_webhook("created", issue["id"]).status == 200
        drained(bot)
        bot.poll_now()
        [card] = cards_for(slack, issue["id"])
        assert card.text == "[web] KeyError: 'user': app.views in profile"
        assert len(top_level(slack)) == 1
        # Read back with the route's own search, narrowed to the issue.
        assert narrowed(sentry)[0] == f"is:unresolved issue.id:[{issue['id']}]"


def test_only_issues_the_routes_match_are_carded(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    config = (
        f"routes:\n  - channel: {CHANNEL}\n    projects: [web]\n"
        '    query: "is:unresolved level:error"\n    environment: production\n'
    )
    sentry.add_environment("production")
    sentry.add_environment("staging")
    with started(make_bot, sentry, config=config) as bot:
        other_project = sentry.create_issue("api", "Not routed: project")
        warning = sentry.create_issue("web", "Not routed: level", level="warning")
        staging = sentry.create_issue("web", "Not routed: environment", environment="staging")
        routed = sentry.create_issue("web", "Routed")
        for issue in (other_project, warning, staging, routed):
            assert sentry.send_issue_webhook("created", issue["id"]).status == 200
        slack.wait_for(lambda: len(cards_for(slack, routed["id"])) == 1, timeout=10)
        drained(bot, timeout=30)
        assert [m.metadata["event_payload"]["issue_id"] for m in top_level(slack)] == [routed["id"]]
        envs = [
            r.param("environment")
            for r in sentry.requests_matching("GET", "/organizations/acme/issues/")
            if "issue.id:" in (r.param("query") or "")
        ]
        assert set(envs) == {"production"}


def test_a_change_in_sentry_redraws_the_card_from_the_issue_read_back(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with started(make_bot, sentry) as bot:
        sentry.webhook_on_create = True
        issue = sentry.create_issue("web", "Redrawn on resolve")
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=10)
        sentry.webhook_on_create = False
        sentry.set_issue_status(issue["id"], "resolved")
        # The body says nothing the bot trusts: the card shows what Sentry answers.
        assert sentry.send_issue_webhook("resolved", issue["id"]).status == 200
        slack.wait_for(lambda: cards_for(slack, issue["id"])[0].edits, timeout=10)
        [card] = cards_for(slack, issue["id"])
        assert "Resolved" in json.dumps(card.blocks)
        # Replayed: the card already shows it, so it is not edited again.
        edits = len(card.edits)
        assert sentry.send_issue_webhook("resolved", issue["id"]).status == 200
        drained(bot)
        assert len(cards_for(slack, issue["id"])[0].edits) == edits


def test_changes_to_an_issue_without_a_card_cost_no_sentry_request(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """Out of order: `resolved` before `created`. The resolved issue is no longer one the
    route's search (`is:unresolved`) finds, so neither delivery posts anything."""
    with started(make_bot, sentry) as bot:
        issue = sentry.create_issue("web", "Resolved before it was announced")
        sentry.set_issue_status(issue["id"], "resolved")
        sentry.clear_requests()
        for action in ("resolved", "assigned", "ignored", "unresolved"):
            assert sentry.send_issue_webhook(action, issue["id"]).status == 200
        drained(bot)
        assert sentry.requests == []
        assert sentry.send_issue_webhook("created", issue["id"]).status == 200
        # Not found by the route's search: looked for once more (the search may lag), then
        # left alone.
        drained(bot, timeout=30)
        assert len(narrowed(sentry)) == 2
        assert slack.messages(CHANNEL) == []


def test_refused_deliveries_do_nothing(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with started(make_bot, sentry) as bot:
        issue = sentry.create_issue("web", "Forged")
        sender = sentry.webhooks
        assert sender is not None
        body = sender.body("created", {"issue": sentry.issue(issue["id"])}, {"type": "user"})
        forged = WebhookSender(sender.url, "not-the-secret")
        stale = int(time.time()) - 301
        cases = {
            "forged": (body, forged.headers("issue", body)),
            "unsigned": (body, {"Sentry-Hook-Resource": "issue"}),
            "stale": (body, sender.headers("issue", body, timestamp=stale)),
            "tampered": (body.replace(b"Forged", b"Forgeb"), sender.headers("issue", body)),
            "malformed": (b"{not json", sender.headers("issue", b"{not json")),
            "no resource": (body, sender.headers(None, body)),
            "too large": (b" " * (300 * 1024), sender.headers("issue", b" " * (300 * 1024))),
        }
        answers = {name: sender.post(b, h) for name, (b, h) in cases.items()}
        forged.close()
        assert {name: a.status for name, a in answers.items()} == {
            "forged": 401,
            "unsigned": 401,
            "stale": 401,
            "tampered": 401,
            "malformed": 400,
            "no resource": 400,
            "too large": 413,
        }
        assert "does not match" in answers["forged"].body
        assert bot.call(bot.runtime.parts.webhook_queue.pending()) == 0  # type: ignore[union-attr]
        metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
        assert _metric(metrics, 'sentry_slack_webhooks_refused_total{reason="signature"}') == 2
        assert _metric(metrics, 'sentry_slack_webhooks_refused_total{reason="malformed"}') == 2
        assert _metric(metrics, "sentry_slack_webhooks_received_total") == 7
        assert narrowed(sentry) == []
        assert slack.messages(CHANNEL) == []
        assert "not-the-secret" not in bot.log()
        assert SECRET not in bot.log()


def test_a_comment_written_in_sentry_reaches_the_cards_thread_through_its_webhook(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """With an hour between polls, only the comment webhook can bring a person's comment in
    Sentry to the card's thread; a replay of the delivery does not bring it twice."""
    sentry.add_member("bo@example.com", name="Bo Berg", role="member")
    with started(make_bot, sentry) as bot:
        sentry.webhook_on_create = True
        issue = sentry.create_issue("web", "Commented")
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=10)
        [card] = cards_for(slack, issue["id"])

        def replies() -> list[Any]:
            return [
                m
                for m in slack.messages(CHANNEL)
                if m.thread_ts == card.ts and m.ts != card.ts  # type: ignore[attr-defined]
            ]

        comment = sentry.add_comment(issue["id"], "looking into it <!here>", by="bo@example.com")
        for _ in range(2):  # Sentry's delivery, then a replay of it
            answer = sentry.send_comment_webhook(
                issue["id"], "looking into it", comment_id=int(comment["id"])
            )
            assert answer.status == 200
        drained(bot)
        slack.wait_for(lambda: len(replies()) == 1, timeout=10)
        [reply] = replies()
        assert reply.text.startswith("Bo Berg commented in Sentry: looking into it")
        assert "<!here>" not in reply.text
        queued = httpx.get(f"{bot.url}/metrics", timeout=5).text
        assert _metric(queued, 'sentry_slack_webhooks_queued_total{resource="comment"}') == 2
        drained(bot)
        assert len(replies()) == 1


def test_readyz_says_whether_webhooks_are_on_and_when_one_last_arrived(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    with started(make_bot, sentry) as bot:
        before = httpx.get(f"{bot.url}/readyz", timeout=5).json()["sentry_webhooks"]
        assert before == {"state": "configured", "last_received": None}
        issue = sentry.create_issue("api", "Anything")
        assert sentry.send_issue_webhook("assigned", issue["id"]).status == 200
        after = httpx.get(f"{bot.url}/readyz", timeout=5).json()["sentry_webhooks"]
        assert after["state"] == "configured"
        assert re.match(r"\d{4}-\d\d-\d\dT", after["last_received"])


@pytest.mark.parametrize("socket_free_env", [{"POLL_INTERVAL_SECONDS": "3600"}])
def test_without_the_secret_the_path_does_not_exist(
    make_bot: BotFactory, sentry: FakeSentry, socket_free_env: dict[str, str]
) -> None:
    with make_bot(**socket_free_env) as bot:
        bot.wait_ready()
        sender = WebhookSender(f"{bot.url}/sentry/webhook", SECRET)
        body = sender.body("created", {"issue": {"id": "1"}}, {"type": "user"})
        assert sender.post(body, sender.headers("issue", body)).status == 404
        sender.close()
        ready = httpx.get(f"{bot.url}/readyz", timeout=5).json()
        assert ready["sentry_webhooks"] == {"state": "off", "last_received": None}


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_a_full_queue_answers_503_at_once_and_sentrys_retry_is_carded(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """Sentry is failing, so deliveries wait in the queue; once it is full a new issue's
    delivery is answered 503 (Sentry retries it later) while one for a waiting issue merges."""
    with started(make_bot, sentry) as bot:
        assert bot.runtime is not None
        bot.runtime.parts.webhook_queue.capacity = 1
        waiting = sentry.create_issue("web", "Waits for Sentry")
        later = sentry.create_issue("web", "Arrives on a full queue")
        sentry.fail_next(40, status=502, path_contains="/issues/")
        assert sentry.send_issue_webhook("created", waiting["id"]).status == 200
        bot.wait_for_log(r"cannot read 1 webhook issues from Sentry", timeout=30)
        full = sentry.send_issue_webhook("created", later["id"])
        assert (full.status, json.loads(full.body)["error"]) == (
            503,
            "the queue is full; retry later",
        )
        assert full.seconds < 1.0
        sentry.clear_faults()
        # Merged into the waiting row, which runs again at once.
        assert sentry.send_issue_webhook("created", waiting["id"]).status == 200
        slack.wait_for(lambda: len(cards_for(slack, waiting["id"])) == 1, timeout=20)
        drained(bot)
        # Sentry's retry of the refused delivery.
        assert sentry.send_issue_webhook("created", later["id"]).status == 200
        slack.wait_for(lambda: len(cards_for(slack, later["id"])) == 1, timeout=10)
        metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
        assert _metric(metrics, 'sentry_slack_webhooks_refused_total{reason="full"}') == 1


def test_an_issue_that_comes_back_gets_its_thread_reply_from_the_webhook(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """`unresolved` for a regressed issue: the card is redrawn and the regression is told in
    its thread, once, as the poll's card refresh would."""
    with started(make_bot, sentry) as bot:
        sentry.webhook_on_create = True
        issue = sentry.create_issue("web", "Comes back")
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=10)
        sentry.webhook_on_create = False
        sentry.set_issue_status(issue["id"], "resolved")
        assert sentry.send_issue_webhook("resolved", issue["id"]).status == 200
        slack.wait_for(
            lambda: "Resolved" in json.dumps(cards_for(slack, issue["id"])[0].blocks), timeout=10
        )
        sentry.regress(issue["id"])
        for _ in range(2):
            assert sentry.send_issue_webhook("unresolved", issue["id"]).status == 200
        [card] = cards_for(slack, issue["id"])

        def replies() -> list[object]:
            return [m for m in slack.messages(CHANNEL) if m.thread_ts == card.ts]

        slack.wait_for(lambda: len(replies()) == 1, timeout=10)
        drained(bot)
        bot.poll_now()
        assert len(replies()) == 1
        assert "Regressed" in json.dumps(cards_for(slack, issue["id"])[0].blocks)
