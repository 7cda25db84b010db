"""Readiness logs each problem once and reports it; a credential watch checks again when the
credential is refused elsewhere, backs off quietly while it stays refused, and notices when it
works again."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.credentials import Verdict
from bot.readiness import CredentialWatch, Readiness

REFUSED = Verdict("refused", "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy it again")


def test_a_problem_is_logged_once_and_its_clearing_once(caplog: pytest.LogCaptureFixture) -> None:
    changes: list[bool] = []
    readiness = Readiness(on_change=changes.append)
    caplog.set_level(logging.INFO, logger="bot.readiness")
    for _ in range(3):
        readiness.update("slack", REFUSED.problem, cleared="Slack accepts SLACK_BOT_TOKEN")
    readiness.update("routes", None, ["no routes yet"])
    readiness.update("routes", None, ["no routes yet"])
    assert readiness.report() == (
        False,
        {"status": "not ready", "problems": [REFUSED.problem], "warnings": ["no routes yet"]},
    )
    readiness.update("slack", None, cleared="Slack accepts SLACK_BOT_TOKEN")
    readiness.update("slack", None, cleared="Slack accepts SLACK_BOT_TOKEN")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", REFUSED.problem),
        ("WARNING", "no routes yet"),
        ("INFO", "Slack accepts SLACK_BOT_TOKEN"),
    ]
    assert readiness.report()[0] is True
    assert changes == [False, True]


def test_the_placeholder_while_checking_is_not_ready_and_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.readiness")
    readiness = Readiness()
    CredentialWatch(
        subject="sentry",
        check=lambda: asyncio.sleep(0, Verdict("ok")),
        readiness=readiness,
        checking="SENTRY_TOKEN with Sentry",
        cleared="Sentry accepts SENTRY_TOKEN",
    )
    assert readiness.report() == (
        False,
        {"status": "not ready", "problems": ["checking SENTRY_TOKEN with Sentry"], "warnings": []},
    )
    assert caplog.records == []


class ScriptedCheck:
    """A check answering from a list of verdicts (the last one repeats); counts its calls."""

    def __init__(self, *verdicts: Verdict) -> None:
        self.verdicts = list(verdicts)
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> Verdict:
        self.calls += 1
        self.called.set()
        return self.verdicts[min(self.calls, len(self.verdicts)) - 1]

    async def wait_calls(self, count: int) -> None:
        async with asyncio.timeout(5):
            while self.calls < count:
                self.called.clear()
                await self.called.wait()


def watch(
    check: ScriptedCheck,
    readiness: Readiness,
    *,
    first_delay: float,
    min_interval: float | None = None,
) -> CredentialWatch:
    return CredentialWatch(
        subject="slack",
        check=check,
        readiness=readiness,
        checking="SLACK_BOT_TOKEN with Slack",
        cleared="Slack accepts SLACK_BOT_TOKEN",
        first_delay=first_delay,
        max_delay=first_delay * 4,
        min_interval=min_interval,
    )


async def test_a_refused_credential_is_checked_again_quietly_until_it_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.readiness")
    readiness = Readiness()
    check = ScriptedCheck(REFUSED, REFUSED, REFUSED, Verdict("ok"))
    credential = watch(check, readiness, first_delay=0.01)
    credential.start()
    await check.wait_calls(4)
    await credential.close()
    assert readiness.ready
    assert [r.getMessage() for r in caplog.records] == [
        REFUSED.problem,
        "Slack accepts SLACK_BOT_TOKEN",
    ]


async def test_a_refusal_seen_elsewhere_triggers_a_check_and_a_success_ends_the_backoff() -> None:
    readiness = Readiness()
    check = ScriptedCheck(Verdict("ok"), REFUSED, Verdict("ok"))
    # Backoff of an hour: only the two wake-ups can cause the second and third checks.
    credential = watch(check, readiness, first_delay=3600.0, min_interval=0.0)
    credential.start()
    await check.wait_calls(1)
    assert credential.good
    credential.saw_refusal()
    await check.wait_calls(2)
    assert credential.refused
    assert not readiness.ready
    credential.saw_success()
    await check.wait_calls(3)
    await credential.close()
    assert credential.good
    assert readiness.ready


async def test_answers_seen_during_a_check_do_not_trigger_another() -> None:
    readiness = Readiness()
    made: list[CredentialWatch] = []
    calls = 0

    async def check_that_sees_its_own_refusal() -> Verdict:
        nonlocal calls
        calls += 1
        made[0].saw_refusal()  # what the answer watch reports while the check runs
        return Verdict("ok")

    credential = CredentialWatch(
        subject="slack",
        check=check_that_sees_its_own_refusal,
        readiness=readiness,
        checking="SLACK_BOT_TOKEN with Slack",
        cleared="Slack accepts SLACK_BOT_TOKEN",
        min_interval=0.0,
    )
    made.append(credential)
    credential.start()
    async with asyncio.timeout(5):
        await credential.first_verdict.wait()
    for _ in range(20):  # let the loop run as far as it would
        await asyncio.sleep(0)
    await credential.close()
    assert calls == 1
