"""The outbox against the Slack wire fake and a real database: a post still in flight is
never settled under it, a render that fails gives its rows back, a refusal not worth retrying
closes them, and a post found in a thread is recorded as the kind of message it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.outbox.delivery import Draft, NotClaimed, Outbox, drawn
from bot.outbox.store import Entry, OutboxRow, OutboxStore
from bot.slack.notifier import Posted, Refused, SlackNotifier, Uncertain
from tests.fakes.slack_server import FakeSlack

CHANNEL = "C0OUTBOX1"
NOW = datetime.now(UTC)


@pytest.fixture
async def outbox(engine: AsyncEngine) -> AsyncIterator[tuple[Outbox, OutboxStore, FakeSlack]]:
    with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "outbox")
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
        notifier = SlackNotifier(client=client, post_client=client, metrics=Metrics())
        store = OutboxStore(engine)
        yield (
            Outbox(store=store, notifier=notifier, metrics=Metrics(), clock=lambda: NOW),
            store,
            slack,
        )


async def owe(store: OutboxStore, key: str, producer: str = "card") -> OutboxRow:
    await store.add([Entry(CHANNEL, key, producer, due_at=NOW)])
    row = await store.get(CHANNEL, key)
    assert row is not None
    return row


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def message(text: str) -> dict[str, object]:
    return {"text": text}


async def test_a_post_in_flight_is_not_settled_under_it(
    outbox: tuple[Outbox, OutboxStore, FakeSlack],
) -> None:
    box, store, slack = outbox
    row = await owe(store, "issue:1")
    slack.slow_next("chat.postMessage", 1.0)
    sending = asyncio.create_task(
        box.send(Draft(kind="card", rows=[row], render=drawn(lambda: message("slow"))))
    )
    await asyncio.wait_for(until(lambda: bool(slack.calls("chat.postMessage"))), timeout=5)
    # The post has not answered yet and is not in the channel: settling it now would owe it again.
    await box.reconcile(producer="card", claimed_before=None, describe=lambda r: r.key)
    assert (await store.get(CHANNEL, "issue:1")).state == "posting"  # type: ignore[union-attr]
    assert isinstance(await sending, Posted)
    assert (await store.get(CHANNEL, "issue:1")).state == "posted"  # type: ignore[union-attr]
    assert len(slack.messages(CHANNEL)) == 1


async def test_a_render_that_fails_gives_the_rows_back(
    outbox: tuple[Outbox, OutboxStore, FakeSlack],
) -> None:
    box, store, slack = outbox
    row = await owe(store, "digest:1@2026-03-01T09:00:00Z", producer="digest")

    async def unreadable_sentry() -> dict[str, object]:
        raise TimeoutError("Sentry did not answer")

    with pytest.raises(TimeoutError):
        await box.send(Draft(kind="digest", rows=[row], render=unreadable_sentry))
    again = await store.get(CHANNEL, row.key)
    assert again is not None
    assert (again.state, again.attempts, slack.calls("chat.postMessage")) == ("owed", 1, [])


async def test_a_refusal_not_worth_retrying_closes_the_rows(
    outbox: tuple[Outbox, OutboxStore, FakeSlack],
) -> None:
    box, store, slack = outbox
    row = await owe(store, "digest:1@2026-03-01T09:00:00Z", producer="digest")
    slack.error_next("chat.postMessage", "is_archived")
    draft = Draft(
        kind="digest", rows=[row], render=drawn(lambda: message("d")), retry_refused=False
    )
    assert isinstance(await box.send(draft), Refused)
    assert (await store.get(CHANNEL, row.key)).state == "refused"  # type: ignore[union-attr]
    assert isinstance(await box.send(draft), NotClaimed)


async def test_a_lost_reply_is_found_in_its_thread_as_a_reply(
    outbox: tuple[Outbox, OutboxStore, FakeSlack],
) -> None:
    box, store, slack = outbox
    card = await owe(store, "issue:7")
    assert isinstance(
        await box.send(Draft(kind="card", rows=[card], render=drawn(lambda: message("card")))),
        Posted,
    )
    parent = (await store.get(CHANNEL, "issue:7")).message_ts  # type: ignore[union-attr]
    await store.add([Entry(CHANNEL, "reply:1.1", "reply", due_at=NOW, thread_ts=parent)])
    reply = await store.get(CHANNEL, "reply:1.1")
    assert reply is not None
    slack.drop_next("chat.postMessage")  # reaches the thread, the answer is lost
    sent = await box.send(
        Draft(kind="reply", rows=[reply], render=drawn(lambda: message("back")), thread_ts=parent)
    )
    assert isinstance(sent, Uncertain)
    await box.reconcile(
        producer="reply", claimed_before=NOW - timedelta(minutes=5), describe=lambda r: r.key
    )
    settled = await store.get(CHANNEL, "reply:1.1")
    assert settled is not None
    [in_thread] = [m for m in slack.messages(CHANNEL) if m.ts != parent]
    assert (settled.state, settled.posted_as, settled.message_ts) == (
        "posted",
        "reply",
        in_thread.ts,
    )
