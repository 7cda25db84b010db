"""Routes: the file's routes keep their watermark across restarts; Slack-made ones are separate."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config_file import RouteSpec
from bot.store.database import startup_lock
from bot.store.routes import RouteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_file_routes_keep_their_watermark(engine: AsyncEngine) -> None:
    store = RouteStore(engine)
    spec = RouteSpec(channel="C1", projects=("web", "backend"))
    await store.sync_file_routes([spec], now=T0)
    await store.sync_file_routes(
        [RouteSpec(channel="C1", projects=("backend", "web"), mention=("S1AB",))],
        now=T0 + timedelta(hours=1),
    )
    [route] = await store.all()
    assert route.watermark == T0
    assert route.projects == ("backend", "web")
    assert route.mention == ("S1AB",)


async def test_removed_file_routes_disappear_but_slack_routes_stay(engine: AsyncEngine) -> None:
    store = RouteStore(engine)
    await store.sync_file_routes([RouteSpec(channel="C1")], now=T0)
    await store.add(RouteSpec(channel="C2", projects=("web",)), now=T0, created_by="U1")
    await store.sync_file_routes([], now=T0)
    assert [(r.channel, r.source) for r in await store.all()] == [("C2", "slack")]


async def test_polled_until_moves_the_floor(engine: AsyncEngine) -> None:
    store = RouteStore(engine)
    await store.sync_file_routes([RouteSpec(channel="C1")], now=T0)
    [route] = await store.all()
    assert route.floor == T0
    await store.set_polled_until([route.id], T0 + timedelta(minutes=3))
    [route] = await store.all()
    assert route.floor == T0 + timedelta(minutes=3)
    assert route.watermark == T0


async def test_remove_slack_routes(engine: AsyncEngine) -> None:
    store = RouteStore(engine)
    await store.add(RouteSpec(channel="C1", projects=("web",)), now=T0, created_by="U1")
    await store.add(RouteSpec(channel="C1"), now=T0, created_by="U1")
    assert await store.remove(channel="C1", project="web") == 1
    assert await store.remove(channel="C1", project="*") == 1
    assert await store.all() == []


async def test_replicas_applying_the_routes_file_at_once(engine: AsyncEngine) -> None:
    """Replicas starting together each apply the file; the start-up lock makes them take
    turns, so none fails on the routes another one has just inserted."""

    async def start() -> None:
        async with startup_lock(engine):
            await RouteStore(engine).sync_file_routes(
                [RouteSpec(channel=f"C{n}AB") for n in range(20)], now=T0
            )

    await asyncio.gather(*(start() for _ in range(3)))
    assert len(await RouteStore(engine).all()) == 20
