"""Sentry requests and wall time to build one digest: 50 projects, 10,000 issues seen in the period.

The digest covers all 50 projects (listed explicitly, as a file digest would) over the last
24 hours; the issues are spread over the projects, a tenth of them new in the period, some
regressed or escalating, some resolved or ignored, with a release per project. The content is
gathered once through the real `SentryClient` against the fake Sentry, then rendered by the
pure builder.

    .venv/bin/python bench/digest_build.py
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import ORG, Figure, fakes, print_table  # noqa: E402
from bot.digests.builder import build_digest  # noqa: E402
from bot.digests.content import gather_digest  # noqa: E402
from bot.secret import Secret  # noqa: E402
from bot.sentry.client import SentryClient  # noqa: E402
from tests.e2e.harness import TOKENS  # noqa: E402
from tests.fakes.blockkit_rules import validate_blocks  # noqa: E402

PROJECTS = 50
ISSUES = 10_000
TARGET_REQUESTS = 5
TARGET_SECONDS = 2.0


async def build_once(
    sentry_url: str, projects: list[str], start: datetime, end: datetime
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        client = SentryClient(
            http, base_url=sentry_url, token=Secret(TOKENS["SENTRY_TOKEN"]), org=ORG
        )
        content = await gather_digest(client, projects=projects, start=start, end=end, top=10)
        return build_digest(content)


def main() -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=24), now
    with fakes() as (sentry, _slack):
        projects = [f"project-{i:02d}" for i in range(PROJECTS)]
        for slug in projects:
            sentry.create_project(slug)
            sentry.create_release(
                f"{slug}@1.{rng.randint(0, 9)}", [slug], date_created=now - timedelta(hours=3)
            )
        for n in range(ISSUES):
            new = n % 10 == 0
            first_seen = now - (timedelta(hours=rng.uniform(0, 23)) if new else timedelta(days=9))
            status = "resolved" if n % 17 == 0 else "ignored" if n % 23 == 0 else "unresolved"
            substatus = "regressed" if n % 97 == 0 else "escalating" if n % 89 == 0 else "ongoing"
            sentry.create_issue(
                projects[n % PROJECTS],
                f"Error {n}: something failed",
                first_seen=first_seen,
                last_seen=now - timedelta(minutes=rng.uniform(1, 600)),
                count=rng.randint(1, 5000),
                user_count=rng.randint(1, 300),
                status=status,
                substatus=None if status != "unresolved" else ("new" if new else substatus),
            )
        sentry.clear_requests()
        started = time.perf_counter()
        message = asyncio.run(build_once(sentry.url, projects, start, end))
        wall = time.perf_counter() - started
        requests = len(sentry.requests)
    blocks = len(message["blocks"])
    print_table(
        f"One digest: {PROJECTS} projects, {ISSUES:,} issues seen in the last 24 hours",
        [
            Figure("Sentry requests", str(requests), f"<= {TARGET_REQUESTS}", requests <= 5),
            Figure("wall time", f"{wall:.2f} s", f"< {TARGET_SECONDS:.0f} s", wall < 2.0),
            Figure("blocks", str(blocks), "<= 50", blocks <= 50),
            Figure("Block Kit problems", str(len(validate_blocks(message["blocks"]))), "0"),
        ],
    )


if __name__ == "__main__":
    main()
