"""`python -m bot`: check the settings and the routes file in one pass, then run until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.logs import configure_logging
from bot.runtime import run
from bot.settings import SECRET_VARIABLES, SettingsError, load_configuration


def main() -> None:
    try:
        settings, config = load_configuration()
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    # Secrets live in `settings` only: no library reads them from the environment behind
    # the bot's back, and no child process inherits them.
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    configure_logging(fmt=settings.log_format, level=settings.log_level, secrets=settings.secrets)
    asyncio.run(run(settings, config))


if __name__ == "__main__":
    main()
