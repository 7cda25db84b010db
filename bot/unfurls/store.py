"""The ledger of unfurled cards: which message shows which issue's card, as of which revision.

One row per (channel, message, url). A row is written when chat.unfurl took the card, and again
each time it is redrawn; the blocks sent are kept so that a later chat.unfurl for the message can
carry all of its unfurls without reading every issue again. Rows older than the retention window
are pruned; rows of a message Slack no longer lets the app unfurl are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.schema import unfurls


@dataclass(frozen=True, slots=True)
class NewUnfurl:
    """A card chat.unfurl just took: where, for which link and issue, and what it shows."""

    channel: str
    message_ts: str
    unfurl_id: str | None
    source: str | None
    url: str
    issue_id: str
    rendered: str
    blocks: str
    last_action: str | None = None


@dataclass(frozen=True, slots=True)
class UnfurlRow:
    id: int
    channel: str
    message_ts: str
    unfurl_id: str | None
    source: str | None
    url: str
    issue_id: str
    rendered: str | None
    blocks: str
    last_action: str | None


@dataclass(frozen=True, slots=True)
class TrackedUnfurl:
    """What the refresh compares with Sentry: an unfurl's id, its issue and what it shows."""

    id: int
    issue_id: str
    rendered: str | None


_FIELDS = tuple(UnfurlRow.__dataclass_fields__)


def _upsert(conn: AsyncConnection, rows: list[dict[str, object]]) -> sa.Insert:
    """Insert, or (the same link of the same message unfurled again) overwrite."""
    updated = (
        "unfurl_id",
        "source",
        "issue_id",
        "rendered",
        "blocks",
        "last_action",
        "unfurled_at",
        "checked_at",
    )
    keys = ["channel", "message_ts", "url"]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(unfurls).values(rows)
        return pg.on_conflict_do_update(
            index_elements=keys, set_={name: pg.excluded[name] for name in updated}
        )
    lite = sqlite.insert(unfurls).values(rows)
    return lite.on_conflict_do_update(
        index_elements=keys, set_={name: lite.excluded[name] for name in updated}
    )


class UnfurlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, entries: Sequence[NewUnfurl], *, now: datetime) -> None:
        """Remember cards Slack just took (a second share of the same link overwrites)."""
        if not entries:
            return
        rows: list[dict[str, object]] = [
            {
                "channel": e.channel,
                "message_ts": e.message_ts,
                "unfurl_id": e.unfurl_id,
                "source": e.source,
                "url": e.url,
                "issue_id": e.issue_id,
                "rendered": e.rendered,
                "blocks": e.blocks,
                "last_action": e.last_action,
                "unfurled_at": now,
                "checked_at": now,
            }
            for e in entries
        ]
        async with self._engine.begin() as conn:
            await conn.execute(_upsert(conn, rows))

    async def for_issue(self, issue_id: str) -> list[UnfurlRow]:
        return await self._select(unfurls.c.issue_id == issue_id)

    async def for_message(self, channel: str, message_ts: str) -> list[UnfurlRow]:
        return await self._select(
            sa.and_(unfurls.c.channel == channel, unfurls.c.message_ts == message_ts)
        )

    async def find(self, channel: str, message_ts: str, url: str) -> UnfurlRow | None:
        found = await self._select(
            sa.and_(
                unfurls.c.channel == channel,
                unfurls.c.message_ts == message_ts,
                unfurls.c.url == url,
            )
        )
        return found[0] if found else None

    async def follows(self, issue_id: str) -> bool:
        query = sa.select(unfurls.c.id).where(unfurls.c.issue_id == issue_id).limit(1)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(unfurls)
            return int((await conn.execute(query)).scalar_one())

    async def tracked(self, *, limit: int) -> list[TrackedUnfurl]:
        """Unfurls least recently compared with Sentry first: three columns each."""
        query = (
            sa.select(unfurls.c.id, unfurls.c.issue_id, unfurls.c.rendered)
            .order_by(unfurls.c.checked_at.is_not(None), unfurls.c.checked_at, unfurls.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [
                TrackedUnfurl(id=r.id, issue_id=r.issue_id, rendered=r.rendered)
                for r in await conn.execute(query)
            ]

    async def drawn(
        self,
        ids: Sequence[int],
        *,
        rendered: str,
        blocks: str,
        last_action: str | None,
        now: datetime,
    ) -> None:
        """What these unfurls (of one issue, in one message) now show."""
        if not ids:
            return
        values: dict[str, object] = {"rendered": rendered, "blocks": blocks, "checked_at": now}
        if last_action is not None:
            values["last_action"] = last_action
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(unfurls).where(unfurls.c.id.in_(list(ids))).values(values))

    async def mark_checked(self, ids: Sequence[int], *, now: datetime) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(unfurls).where(unfurls.c.id.in_(list(ids))).values(checked_at=now)
            )

    async def drop_message(self, channel: str, message_ts: str) -> int:
        """Forget every unfurl of a message Slack will not let the app redraw."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.delete(unfurls).where(
                    unfurls.c.channel == channel, unfurls.c.message_ts == message_ts
                )
            )
            return int(result.rowcount or 0)

    async def prune(self, *, before: datetime) -> int:
        """Forget unfurls made before `before` (the retention window); how many. Looked for with
        a read first, so a cycle with nothing to forget takes no write lock."""
        old = sa.select(unfurls.c.id).where(unfurls.c.unfurled_at < before).limit(1)
        async with self._engine.connect() as conn:
            if (await conn.execute(old)).first() is None:
                return 0
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.delete(unfurls).where(unfurls.c.unfurled_at < before))
            return int(result.rowcount or 0)

    async def _select(self, where: sa.ColumnElement[bool]) -> list[UnfurlRow]:
        query = sa.select(*(unfurls.c[name] for name in _FIELDS)).where(where)
        async with self._engine.connect() as conn:
            return [
                UnfurlRow(**{name: r._mapping[name] for name in _FIELDS})
                for r in await conn.execute(query.order_by(unfurls.c.id))
            ]
