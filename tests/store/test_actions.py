"""The action log: rows keep the triage vocabulary's kind names, and rows written before the
kinds existed (the action's class name, `resolve`, `ignore`, …) still read as the same kinds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.actions import ActionLog, legacy_kind
from bot.store.schema import actions
from bot.triage.vocabulary import (
    Assign,
    Ignore,
    Resolve,
    TriageAction,
    Unresolve,
    kind,
    kind_arg,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# What the log held before kinds (action, arg), written out as the old code wrote it, and the
# action each row recorded.
CLASS_NAME_ROWS: list[tuple[str, str, TriageAction]] = [
    ("resolve", "now", Resolve("now")),
    ("resolve", "next_release", Resolve("next_release")),
    ("resolve", "current_release", Resolve("current_release")),
    ("ignore", "until_escalating", Ignore("until_escalating")),
    ("ignore", "forever", Ignore("forever")),
    ("ignore", "duration:120", Ignore("duration", 120)),
    ("ignore", "events:100", Ignore("events", 100)),
    ("ignore", "users:5", Ignore("users", 5)),
    ("assign", "user:42", Assign("user:42")),
    ("assign", "team:7", Assign("team:7")),
    ("assign", "nobody", Assign("")),
    ("unresolve", "", Unresolve()),
]


@pytest.mark.parametrize(("action", "arg", "meant"), CLASS_NAME_ROWS)
def test_class_name_rows_mean_the_same_kind(action: str, arg: str, meant: TriageAction) -> None:
    assert legacy_kind(action, arg) == (kind(meant), kind_arg(meant))


@pytest.mark.parametrize(
    ("action", "arg"),
    [("delete", ""), ("refused", ""), ("pending", ""), ("resolve.now", ""), ("assign.none", "")],
)
def test_other_rows_read_as_written(action: str, arg: str) -> None:
    assert legacy_kind(action, arg) == (action, arg)


async def _record(log: ActionLog, action: str, arg: str, key: str | None = None) -> None:
    await log.record(
        at=T0,
        source="card",
        slack_user="U1",
        slack_team="T1",
        sentry_user="42",
        issue_ids=["7"],
        action=action,
        arg=arg,
        result="ok",
        request_key=key,
    )


async def test_old_and_new_rows_read_as_kinds(engine: AsyncEngine) -> None:
    log = ActionLog(engine)
    async with engine.begin() as conn:
        for action, arg, _ in CLASS_NAME_ROWS:
            await conn.execute(
                sa.insert(actions).values(
                    at=T0, source="card", slack_user="U1", action=action, arg=arg, result="ok"
                )
            )
    await _record(log, kind(Ignore("duration", 30)), kind_arg(Ignore("duration", 30)), "k1")
    records = await log.recent()
    assert [(r.action, r.arg) for r in records] == [("ignore.duration", "30")] + [
        (kind(meant), kind_arg(meant)) for _, _, meant in reversed(CLASS_NAME_ROWS)
    ]
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(actions.c.action))).scalars().all()
    # Reading maps; it never rewrites what is on disk.
    assert "resolve" in stored
    assert "assign" in stored
