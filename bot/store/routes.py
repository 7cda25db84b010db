"""Routes: which channel gets which projects' new issues, and each route's watermark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config_file import RouteSpec
from bot.store.schema import routes


@dataclass(frozen=True, slots=True)
class Route:
    id: int
    channel: str
    projects: tuple[str, ...]
    query: str
    environment: str | None
    mention: tuple[str, ...]
    source: str
    watermark: datetime
    polled_until: datetime | None

    def matches_project(self, slug: str) -> bool:
        return not self.projects or slug in self.projects

    @property
    def floor(self) -> datetime:
        """The earliest first-seen moment this route still needs to look at."""
        return self.polled_until if self.polled_until else self.watermark


def _key(spec: RouteSpec) -> dict[str, str]:
    return {
        "channel": spec.channel,
        "projects": ",".join(sorted(set(spec.projects))),
        "query": spec.query,
        "environment": spec.environment or "",
    }


def _route(row: sa.Row[tuple[object, ...]]) -> Route:
    m = row._mapping
    return Route(
        id=m["id"],
        channel=m["channel"],
        projects=tuple(p for p in m["projects"].split(",") if p),
        query=m["query"],
        environment=m["environment"] or None,
        mention=tuple(p for p in m["mention"].split(",") if p),
        source=m["source"],
        watermark=m["watermark"],
        polled_until=m["polled_until"],
    )


class RouteExists(Exception):
    """Another route already sends the same projects and search to the same channel."""

    def __init__(self, route_id: int) -> None:
        super().__init__(f"route {route_id} has the same settings")
        self.route_id = route_id


class RouteStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _insert_ignoring_existing(self) -> sa.Insert:
        keys = ["channel", "projects", "query", "environment"]
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(routes).on_conflict_do_nothing(index_elements=keys)
        return sqlite.insert(routes).on_conflict_do_nothing(index_elements=keys)

    async def all(self) -> list[Route]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(routes).order_by(routes.c.id))
            return [_route(row) for row in rows]

    async def sync_file_routes(self, specs: Sequence[RouteSpec], *, now: datetime) -> None:
        """Make the file's routes present (keeping existing watermarks) and drop removed ones.

        A route keeps its identity (and so its watermark) while its channel,
        projects, query and environment stay the same; only `mention` may change.
        """
        wanted = {tuple(_key(s).values()): s for s in specs}
        async with self._engine.begin() as conn:
            existing: dict[tuple[str, ...], sa.Row[tuple[object, ...]]] = {
                (r.channel, r.projects, r.query, r.environment): r
                for r in await conn.execute(sa.select(routes))
            }
            for key, spec in wanted.items():
                mention = ",".join(spec.mention)
                row = existing.get(key)
                if row is None:
                    # Ignoring a duplicate: a replica starting at the same moment inserted it.
                    await conn.execute(
                        self._insert_ignoring_existing().values(
                            **_key(spec), mention=mention, source="file", watermark=now
                        )
                    )
                elif row.mention != mention or row.source != "file":
                    await conn.execute(
                        sa.update(routes)
                        .where(routes.c.id == row.id)
                        .values(mention=mention, source="file")
                    )
            stale = [
                r.id for key, r in existing.items() if r.source == "file" and key not in wanted
            ]
            if stale:
                await conn.execute(sa.delete(routes).where(routes.c.id.in_(stale)))

    async def add(self, spec: RouteSpec, *, now: datetime, created_by: str | None) -> Route:
        """Add a route made from Slack; an identical existing route is returned unchanged."""
        async with self._engine.begin() as conn:
            found = (await conn.execute(sa.select(routes).filter_by(**_key(spec)))).first()
            if found is None:
                await conn.execute(
                    sa.insert(routes).values(
                        **_key(spec),
                        mention=",".join(spec.mention),
                        source="slack",
                        created_by=created_by,
                        watermark=now,
                    )
                )
                found = (await conn.execute(sa.select(routes).filter_by(**_key(spec)))).one()
            return _route(found)

    async def get(self, route_id: int) -> Route | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(routes).where(routes.c.id == route_id))).first()
            return _route(row) if row is not None else None

    async def replace(self, route_id: int, spec: RouteSpec) -> Route | None:
        """Change a Slack-made route in place, keeping its watermark and poll progress (so
        editing never posts issues older than the route); None when it is gone or from the
        file. `RouteExists` when another route already has these settings."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(routes).where(routes.c.id == route_id, routes.c.source == "slack")
                )
            ).first()
            if row is None:
                return None
            clash = (
                await conn.execute(
                    sa.select(routes.c.id).filter_by(**_key(spec)).where(routes.c.id != route_id)
                )
            ).first()
            if clash is not None:
                raise RouteExists(clash.id)
            await conn.execute(
                sa.update(routes)
                .where(routes.c.id == route_id)
                .values(**_key(spec), mention=",".join(spec.mention))
            )
            updated = (await conn.execute(sa.select(routes).where(routes.c.id == route_id))).one()
            return _route(updated)

    async def delete(self, route_id: int) -> Route | None:
        """Remove one Slack-made route; None when it is gone or comes from the file."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(routes).where(routes.c.id == route_id, routes.c.source == "slack")
                )
            ).first()
            if row is None:
                return None
            await conn.execute(sa.delete(routes).where(routes.c.id == route_id))
            return _route(row)

    async def remove(self, *, channel: str, project: str | None) -> int:
        """Remove the channel's Slack-made routes (those naming `project`, or all)."""
        async with self._engine.begin() as conn:
            rows = await conn.execute(
                sa.select(routes).where(routes.c.channel == channel, routes.c.source == "slack")
            )
            doomed = [
                r.id
                for r in rows
                if project is None
                or (project == "*" and not r.projects)
                or project in r.projects.split(",")
            ]
            if doomed:
                await conn.execute(sa.delete(routes).where(routes.c.id.in_(doomed)))
            return len(doomed)

    async def set_polled_until(self, route_ids: Iterable[int], moment: datetime) -> None:
        ids = list(route_ids)
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(routes).where(routes.c.id.in_(ids)).values(polled_until=moment)
            )
