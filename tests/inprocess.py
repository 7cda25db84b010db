"""The bot in the test process, two ways.

`BoltApp` (from `open_bolt_app`): the real `Runtime` built, not started, on the test's own event
loop; a signed request goes straight to the app's `SlackHttpEndpoint` and Bolt's dispatch, with
no web server or scheduler (the way bolt-python tests itself).

`InProcessBot`: the real `Runtime` (web server, Bolt listeners, scheduler, poller, store) started
on its own event loop thread, configured through the same environment as `python -m bot`, and
read through its log lines like a process.

`InProcessBot` has the interface of `tests.e2e.harness.BotProcess` (`url`, `start`, `stop`,
`wait_ready`, `wait_for_log`, `log`), so a scenario that needs no process of its own (no signal,
no kill, no second replica, no Socket Mode) runs the same way without the cost of starting an
interpreter; `poll_now` runs the scheduled poll job at once, and returns when that run is over,
instead of waiting for its next interval.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    JobEvent,
)
from slack_bolt.response import BoltResponse

from bot.config_file import BotConfig, RouteSpec
from bot.handlers.http_mode import SlackHttpEndpoint
from bot.logs import RedactSecrets
from bot.runtime import Runtime, utc_now
from bot.settings import load_configuration, load_settings
from bot.store.migrations import migrate
from tests.e2e.harness import TOKENS, free_port
from tests.fakes import slack_requests as sr
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

T = TypeVar("T")

SECRET = TOKENS["SLACK_SIGNING_SECRET"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers whose INFO lines the scenarios read, as `python -m bot` prints them.
QUIET = {"apscheduler": logging.ERROR, "httpx": logging.WARNING}


@dataclass
class BoltApp:
    """A built runtime whose Slack endpoint is called directly, on the test's event loop."""

    runtime: Runtime
    endpoint: SlackHttpEndpoint
    sentry: FakeSentry
    slack: FakeSlack

    async def send(
        self,
        body: str | bytes,
        *,
        content_type: str = sr.FORM,
        timestamp: int | None = None,
        secret: str = SECRET,
    ) -> BoltResponse:
        """Sign `body` as Slack does and answer it through the endpoint and Bolt's dispatch."""
        raw = body.encode() if isinstance(body, str) else body
        text = raw.decode("utf-8", "replace")
        headers = sr.sign(text, secret, timestamp or int(time.time()), content_type=content_type)
        return await self.endpoint.answer(raw, headers)

    async def interact(self, payload: Any) -> BoltResponse:
        return await self.send(sr.interactive_body(payload))

    def changes(self) -> list[Any]:
        """Requests that would change something in Sentry."""
        return [r for r in self.sentry.requests if r.method in ("PUT", "DELETE", "POST")]

    async def replies(self, url: str, count: int = 1) -> list[str]:
        """The texts posted to `url` (a response_url), once there are `count` of them."""

        def posted() -> list[str]:
            return [p.body.get("text", "") for p in self.slack.response_posts() if p.url == url]

        await self.slack.wait_for_async(lambda: len(posted()) >= count, 10)
        return posted()


async def settle() -> None:
    """Let the listeners still working after their acknowledgement finish."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=10)


@asynccontextmanager
async def open_bolt_app(
    workdir: Path, sentry: FakeSentry, slack: FakeSlack, *, channel: str
) -> AsyncIterator[BoltApp]:
    """A runtime built on a migrated SQLite database in `workdir`, routing every project to
    `channel`; closed (after its listeners settle) on exit."""
    settings = load_settings(
        {
            "SENTRY_HOST": sentry.url,
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{workdir}/bot.sqlite3",
        },
        cwd=workdir,
    )
    runtime = Runtime(settings, BotConfig(routes=(RouteSpec(channel=channel),)))
    await migrate(runtime.engine)
    try:
        yield BoltApp(
            runtime, SlackHttpEndpoint(runtime.bolt, signing_secret=SECRET), sentry, slack
        )
        await settle()
    finally:
        await runtime.close()


class _Lines(logging.Handler):
    """Collects formatted log lines (secrets scrubbed, as in production) and wakes waiters."""

    def __init__(self, changed: threading.Condition, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self._changed = changed
        self._lines = lines
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # pragma: no cover - a broken record must not break the bot
            self.handleError(record)
            return
        with self._changed:
            self._lines.extend(line.splitlines() or [""])
            self._changed.notify_all()


class InProcessBot:
    """One bot `Runtime` running on a private event loop thread, started and stopped like a
    process; a stopped bot can be started again on the same database (a restart)."""

    def __init__(self, env: Mapping[str, str], *, workdir: Path) -> None:
        self.port = int(env.get("PORT") or free_port())
        self.env = {"HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self.workdir = workdir
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.runtime: Runtime | None = None
        self.returncode: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._handler: _Lines | None = None
        self._levels: dict[str, int] = {}
        # Ends of scheduled job runs (code, job id), as the scheduler reports them.
        self._job_ends: list[tuple[int, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """Started and its event loop still running (what a live process is for `BotProcess`)."""
        return self._thread is not None and self._thread.is_alive() and self.runtime is not None

    # ---- life cycle ---------------------------------------------------------------------

    def start(self) -> InProcessBot:
        settings, config = load_configuration(self.env, cwd=self.workdir)
        self.lines.clear()
        self._job_ends.clear()
        self.returncode = None
        self._capture_logs(RedactSecrets(settings.secrets))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="in-process-bot", daemon=True
        )
        self._thread.start()

        async def boot() -> Runtime:
            runtime = Runtime(settings, config)
            runtime.scheduler.add_listener(
                self._job_ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES
            )
            await runtime.start()
            return runtime

        try:
            self.runtime = self.call(boot(), timeout=60)
        except BaseException:
            self._shut_loop()
            self._release_logs()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> int:
        """Close the runtime as SIGTERM does (`Runtime.close`); 0 when it closed cleanly."""
        if self._loop is None:
            return self.returncode or 0
        code = 0
        if self.runtime is not None:
            logging.getLogger("bot.runtime").info("stopping")
            try:
                self.call(self.runtime.close(), timeout=timeout)
            except Exception:
                logging.getLogger("bot.runtime").exception("closing failed")
                code = 1
            logging.getLogger("bot.runtime").info("stopped")
        self._shut_loop()
        self._release_logs()
        self.runtime = None
        self.returncode = code
        return code

    def _shut_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def drain() -> None:
            # Runs the scheduler started before it stopped finish first, as they would before
            # the process exits; whatever is still waiting after that is cancelled.
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=10)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending, timeout=5)
            await loop.shutdown_asyncgens()

        asyncio.run_coroutine_threadsafe(drain(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        self._loop = None
        self._thread = None

    def _capture_logs(self, redact: RedactSecrets) -> None:
        self._handler = _Lines(self._changed, self.lines)
        self._handler.addFilter(redact)
        root = logging.getLogger()
        root.addHandler(self._handler)
        self._levels = {"": root.level}
        root.setLevel(logging.INFO)
        for name, level in QUIET.items():
            self._levels[name] = logging.getLogger(name).level
            logging.getLogger(name).setLevel(level)

    def _release_logs(self) -> None:
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)
        self._levels = {}

    def __enter__(self) -> InProcessBot:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- driving it ---------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the bot's loop (where its clients live) and return its result."""
        assert self._loop is not None, "the bot is not running"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def _job_ended(self, event: JobEvent) -> None:
        with self._changed:
            self._job_ends.append((event.code, event.job_id))
            self._changed.notify_all()

    def _next_poll_end(self, after: int, timeout: float) -> tuple[int, int]:
        """Wait for the first end of a poll run reported after the `after`-th event; returns
        its code and position."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after, len(self._job_ends)):
                    code, job = self._job_ends[index]
                    if job == "poll":
                        return code, index + 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no poll run ended within {timeout}s:\n{self.log()}")
                self._changed.wait(remaining)

    def poll_now(self, timeout: float = 20.0) -> None:
        """Run the scheduled poll job now rather than at its next interval (as a replica that
        takes the lease over does), and wait until that run has finished. A run already under
        way is waited for first: the job never runs twice at once."""
        runtime = self.runtime
        assert runtime is not None

        async def trigger() -> None:
            runtime.scheduler.modify_job("poll", next_run_time=utc_now())

        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = len(self._job_ends)
            self.call(trigger())
            code, seen = self._next_poll_end(seen, deadline - time.monotonic())
            if code != EVENT_JOB_MAX_INSTANCES:
                return
            # Skipped behind a run in progress: wait for that run, then ask again.
            self._next_poll_end(seen, deadline - time.monotonic())

    # ---- reading it ---------------------------------------------------------------------

    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = 15.0) -> str:
        """Block until a log line matches (or time runs out)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no log line matching {pattern!r}:\n{self.log()}")
                self._changed.wait(remaining)

    def wait_ready(self, timeout: float = 20.0) -> None:
        self.wait_for_log(r"ready: ", timeout)
