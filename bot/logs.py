"""Log configuration: plain or JSON lines, with every known secret scrubbed from output."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.secret import Secret

MASK = "**********"


class RedactSecrets(logging.Filter):
    """Replaces any secret value that reaches a log record (message, args or traceback)."""

    def __init__(self, secrets: Sequence[Secret]) -> None:
        super().__init__()
        self._values = [s.reveal() for s in secrets if len(s.reveal()) >= 6]

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            formatter = logging.Formatter()
            message += "\n" + formatter.formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.scrub(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, fmt: str, level: str, secrets: Sequence[Secret]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # apscheduler logs every run at INFO and every run skipped behind a long one at
    # WARNING; the jobs log their own outcome, so only its errors are kept.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
