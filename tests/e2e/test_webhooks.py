"""Sentry webhooks through the running process: answered within Sentry's second whatever
Sentry is doing, refused when not Sentry's, kept across a kill, and one card per issue however
many replicas receive the delivery."""

from __future__ import annotations

import signal
import threading

import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import CHANNEL, BotFactory
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.sentry_webhooks import Answer, WebhookSender
from tests.fakes.slack_server import FakeSlack
from tests.slack_views import cards_for, top_level

pytestmark = pytest.mark.e2e

SECRET = "whsec-e2e-client-secret-0123456789"


def narrowed(sentry: FakeSentry) -> int:
    return sum(
        1
        for r in sentry.requests_matching("GET", "/organizations/acme/issues/")
        if "issue.id:" in (r.param("query") or "")
    )


def test_deliveries_are_answered_at_once_and_only_sentrys_are_acted_on(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot(POLL_INTERVAL_SECONDS="3600", SENTRY_WEBHOOK_SECRET=SECRET)
    with bot:
        bot.wait_ready()
        bot.wait_for_log(r"polling \(")
        sender = sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET)
        forged = WebhookSender(sender.url, "guessed-secret")
        # Sentry answers slowly: the bot's answer does not wait for it.
        sentry.latency = 1.5
        issue = sentry.create_issue("web", "Arrived by webhook")
        body = sender.body("created", {"issue": sentry.issue(issue["id"])}, {"type": "user"})
        answers: dict[str, Answer] = {
            "forged": forged.post(body, forged.headers("issue", body)),
            "stale": sender.post(body, sender.headers("issue", body, timestamp=1_724_000_000)),
            "malformed": sender.post(b"{", sender.headers("issue", b"{")),
            "valid": sender.post(body, sender.headers("issue", body)),
            "replayed": sender.post(body, sender.headers("issue", body)),
        }
        forged.close()
        assert {k: a.status for k, a in answers.items()} == {
            "forged": 401,
            "stale": 401,
            "malformed": 400,
            "valid": 200,
            "replayed": 200,
        }
        assert max(a.seconds for a in answers.values()) < 1.0
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
        sentry.latency = 0.0
        # Sentry's retry of the same delivery, much later, changes nothing.
        assert sender.post(body, sender.headers("issue", body)).status == 200
        sentry.wait_for(lambda: narrowed(sentry) >= 2, timeout=10)
    assert len(top_level(slack)) == 1
    assert "guessed-secret" not in bot.log()
    assert SECRET not in bot.log()


def test_an_accepted_delivery_survives_a_kill(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """Sentry fails the read-back, the process is killed while the delivery waits to be tried
    again: the restarted process takes it from the queue and the issue has one card."""
    bot = make_bot(POLL_INTERVAL_SECONDS="3600", SENTRY_WEBHOOK_SECRET=SECRET)
    bot.start()
    bot.wait_ready()
    bot.wait_for_log(r"polling \(")
    sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET)
    issue = sentry.create_issue("web", "Outlives its process")
    sentry.fail_next(20, status=502, path_contains="/issues/")
    assert sentry.send_issue_webhook("created", issue["id"]).status == 200
    bot.wait_for_log(r"cannot read 1 webhook issues from Sentry", timeout=30)
    bot.stop(signal.SIGKILL)
    sentry.clear_faults()
    before = narrowed(sentry)
    bot.start()
    bot.wait_ready()
    sentry.wait_for(lambda: narrowed(sentry) > before, timeout=20)
    slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
    bot.stop()
    assert len(cards_for(slack, issue["id"])) == 1


@pytest.mark.postgres
async def test_replicas_receiving_the_same_deliveries_post_each_card_once(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack, postgres_database: str
) -> None:
    """Each delivery reaches both replicas at the same moment while one of them also polls
    every second: every issue ends with exactly one card."""
    url = await fresh_postgres_database(postgres_database)
    bots = [make_bot(DATABASE_URL=url, SENTRY_WEBHOOK_SECRET=SECRET) for _ in range(2)]
    for bot in bots:
        bot.start()
    for bot in bots:
        bot.wait_ready()
    senders = [WebhookSender(f"{b.url}/sentry/webhook", SECRET) for b in bots]
    issues = [sentry.create_issue("web", f"Seen by every replica {n}") for n in range(8)]
    for issue in issues:
        body = senders[0].body("created", {"issue": sentry.issue(issue["id"])}, {"type": "app"})
        answers: list[int] = []

        def deliver(sender: WebhookSender, body: bytes = body, into: list[int] = answers) -> None:
            into.append(sender.post(body, sender.headers("issue", body)).status)

        threads = [threading.Thread(target=deliver, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert answers == [200, 200]
    slack.wait_for(lambda: all(cards_for(slack, i["id"]) for i in issues), timeout=30)
    # Let both replicas and the poll finish whatever they had started.
    sentry.wait_for(lambda: narrowed(sentry) >= 2, timeout=10)
    for bot in bots:
        bot.stop()
    for sender in senders:
        sender.close()
    assert [len(cards_for(slack, i["id"])) for i in issues] == [1] * len(issues)
    assert len(top_level(slack, CHANNEL)) == len(issues)


def test_socket_mode_serves_the_webhook_on_its_http_listener(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    bot = make_bot(socket_mode=True, POLL_INTERVAL_SECONDS="3600", SENTRY_WEBHOOK_SECRET=SECRET)
    with bot:
        bot.wait_ready()
        bot.wait_for_log(r"polling \(")
        sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET, on_create=True)
        issue = sentry.create_issue("web", "Through the listener in Socket Mode")
        assert sentry.webhook_answers[-1].status == 200
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)


def test_deliveries_arriving_out_of_order_end_in_the_card_sentry_shows(
    make_bot: BotFactory, sentry: FakeSentry, slack: FakeSlack
) -> None:
    """Assigned, then resolved-and-reopened, all before `created` arrives: every delivery is
    read back, so the card shows the issue as Sentry has it at the end, posted once."""
    sentry.add_member("jane@example.com", name="Jane Doe")
    bot = make_bot(POLL_INTERVAL_SECONDS="3600", SENTRY_WEBHOOK_SECRET=SECRET)
    with bot:
        bot.wait_ready()
        bot.wait_for_log(r"polling \(")
        sentry.deliver_webhooks(f"{bot.url}/sentry/webhook", SECRET)
        issue = sentry.create_issue("web", "Told backwards")
        sentry.assign(issue["id"], "jane@example.com")
        sentry.set_issue_status(issue["id"], "resolved")
        sentry.set_issue_status(issue["id"], "unresolved")
        for action in ("assigned", "resolved", "unresolved", "created", "assigned"):
            assert sentry.send_issue_webhook(action, issue["id"]).status == 200
        slack.wait_for(lambda: len(cards_for(slack, issue["id"])) == 1, timeout=15)
        sentry.wait_for(lambda: narrowed(sentry) >= 1, timeout=10)
    [card] = cards_for(slack, issue["id"])
    assert "Jane Doe" in str(card.blocks)
    assert len(top_level(slack)) == 1
