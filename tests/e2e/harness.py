"""Runs `python -m bot` as a real subprocess, configured only through its environment."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {
    "SENTRY_TOKEN": "sntryu_e2e-test-token-0123456789",
    "SLACK_BOT_TOKEN": "xoxb-111-222-e2etesttoken",
    "SLACK_APP_TOKEN": "xapp-1-A111-333-e2etestapptoken",
    "SLACK_SIGNING_SECRET": "e2e-signing-secret-abcdef",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BotProcess:
    """One bot process; its log lines are collected as they arrive and can be awaited.

    By default it runs this checkout with the test interpreter; `python` names another
    interpreter that has the bot installed (then the checkout is not put on its path).
    """

    def __init__(self, env: Mapping[str, str], *, workdir: Path, python: str | None = None) -> None:
        self.port = int(env.get("PORT") or free_port())
        self.python = python or sys.executable
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **({} if python else {"PYTHONPATH": str(ROOT)}),
            # Line coverage of the process, when the test run is measured (coverage.py's
            # `patch = subprocess` passes its settings this way).
            **{k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")},
            **env,
        }
        self.workdir = workdir
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BotProcess:
        self.lines.clear()
        self.process = subprocess.Popen(
            [self.python, "-m", "bot"],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = 15.0) -> str:
        """Block until a log line matches (or the process dies, or time runs out)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"bot exited ({self.process.returncode}):\n{self.log()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no log line matching {pattern!r}:\n{self.log()}")
                self._changed.wait(remaining)

    def wait_ready(self, timeout: float = 20.0) -> None:
        self.wait_for_log(r"ready: ", timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()
