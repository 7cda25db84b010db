"""The webhook queue on both databases: deliveries coalesce per issue, the queue is bounded,
a row is worked on by one claimant at a time, and a delivery arriving mid-work runs it again."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sentry.ids import IssueId
from bot.store.database import create_engine
from bot.store.migrations import migrate
from bot.webhooks.hooks import Hint
from bot.webhooks.queue import BACKOFF, MAX_ATTEMPTS, WebhookQueue

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=2)


def created(issue: int) -> Hint:
    return Hint("issue", "issue", "created", IssueId(issue), route=True)


def changed(issue: int) -> Hint:
    return Hint("issue", "issue", "resolved", IssueId(issue), redraw=True)


def comment(issue: int) -> Hint:
    return Hint("comment", "comment", "created", IssueId(issue))


async def test_retries_and_changes_of_one_issue_make_one_row(engine: AsyncEngine) -> None:
    queue = WebhookQueue(engine)
    for hint in (created(1), created(1), changed(1), created(2), comment(1)):
        assert await queue.put(hint, now=T0)
    assert await queue.pending() == 3
    jobs = await queue.claim(now=T0, limit=10, hold=HOLD)
    by_key = {(j.kind, j.issue_id): (j.route, j.redraw) for j in jobs}
    assert by_key == {
        ("issue", "1"): (True, True),
        ("issue", "2"): (True, False),
        ("comment", "1"): (False, False),
    }


async def test_a_full_queue_refuses_new_issues_but_merges_known_ones(engine: AsyncEngine) -> None:
    queue = WebhookQueue(engine, capacity=2)
    assert await queue.put(created(1), now=T0)
    assert await queue.put(created(2), now=T0)
    assert not await queue.put(created(3), now=T0)
    assert await queue.put(changed(1), now=T0)
    assert await queue.pending() == 2
    [first, _] = await queue.claim(now=T0, limit=10, hold=HOLD)
    assert (first.route, first.redraw) == (True, True)


async def test_a_claimed_row_is_not_claimed_again_until_its_hold_runs_out(
    engine: AsyncEngine,
) -> None:
    queue = WebhookQueue(engine)
    await queue.put(created(1), now=T0)
    [job] = await queue.claim(now=T0, limit=10, hold=HOLD)
    assert await queue.claim(now=T0 + HOLD / 2, limit=10, hold=HOLD) == []
    # Its claimant died: another takes it over, and the first can no longer finish it.
    [again] = await queue.claim(now=T0 + HOLD * 2, limit=10, hold=HOLD)
    await queue.done([job])
    assert await queue.pending() == 1
    await queue.done([again])
    assert await queue.pending() == 0


async def test_a_delivery_during_the_work_makes_the_row_run_again(engine: AsyncEngine) -> None:
    queue = WebhookQueue(engine)
    await queue.put(created(1), now=T0)
    [job] = await queue.claim(now=T0, limit=10, hold=HOLD)
    await queue.put(changed(1), now=T0)
    await queue.done([job])
    [again] = await queue.claim(now=T0, limit=10, hold=HOLD)
    assert (again.issue_id, again.redraw) == ("1", True)
    await queue.done([again])
    assert await queue.pending() == 0


async def test_a_row_looked_at_later_waits_unless_a_delivery_came_in(
    engine: AsyncEngine,
) -> None:
    queue = WebhookQueue(engine)
    await queue.put(created(1), now=T0)
    await queue.put(created(2), now=T0)
    first, second = await queue.claim(now=T0, limit=10, hold=HOLD)
    await queue.put(changed(2), now=T0)
    await queue.later([first, second], at=T0 + timedelta(seconds=10))
    [now] = await queue.claim(now=T0, limit=10, hold=HOLD)
    assert (now.issue_id, now.redraw) == ("2", True)
    [then] = await queue.claim(now=T0 + timedelta(seconds=10), limit=10, hold=HOLD)
    assert (then.issue_id, then.attempts) == ("1", 1)


async def test_failed_work_backs_off_then_is_given_up(engine: AsyncEngine) -> None:
    queue = WebhookQueue(engine)
    await queue.put(created(1), now=T0)
    now = T0
    for attempt in range(MAX_ATTEMPTS - 1):
        [job] = await queue.claim(now=now, limit=10, hold=HOLD)
        assert job.attempts == attempt
        assert await queue.failed([job], now=now) == 0
        assert await queue.claim(now=now, limit=10, hold=HOLD) == []
        now += BACKOFF[min(attempt, len(BACKOFF) - 1)]
    [last] = await queue.claim(now=now, limit=10, hold=HOLD)
    assert await queue.failed([last], now=now) == 1
    assert await queue.pending() == 0


async def test_concurrent_claimants_never_share_a_row(engine: AsyncEngine) -> None:
    queue = WebhookQueue(engine)
    for issue in range(1, 41):
        await queue.put(created(issue), now=T0)
    batches = await asyncio.gather(*(queue.claim(now=T0, limit=7, hold=HOLD) for _ in range(8)))
    claimed = [j.issue_id for batch in batches for j in batch]
    assert len(claimed) == len(set(claimed)) == 40


Make = Callable[[int], Hint]
hints = st.lists(
    st.tuples(st.sampled_from([created, changed, comment]), st.integers(1, 6)), max_size=30
)


# A fresh migrated database per example, as the other store properties: 60 examples.
@settings(max_examples=60)
@given(hints, st.integers(min_value=1, max_value=8))
def test_the_queue_holds_each_issue_once_asking_for_all_it_was_told(
    sequence: list[tuple[Make, int]], capacity: int
) -> None:
    """Whatever arrives: at most `capacity` rows, one per (kind, issue), each asking for every
    action its accepted deliveries asked for; a delivery is refused only for a new issue when
    the queue is full."""
    asyncio.run(_replay(sequence, capacity))


async def _replay(sequence: list[tuple[Make, int]], capacity: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bot.sqlite3")
        await migrate(engine)
        queue = WebhookQueue(engine, capacity=capacity)
        expected: dict[tuple[str, str], tuple[bool, bool]] = {}
        for make, issue in sequence:
            hint = make(issue)
            key = (hint.kind, hint.issue_id)
            accepted = await queue.put(hint, now=T0)
            assert accepted == (key in expected or len(expected) < capacity)
            if accepted:
                route, redraw = expected.get(key, (False, False))
                expected[key] = (route or hint.route, redraw or hint.redraw)
        jobs = await queue.claim(now=T0, limit=100, hold=HOLD)
        await engine.dispose()
    assert {(j.kind, j.issue_id): (j.route, j.redraw) for j in jobs} == expected
