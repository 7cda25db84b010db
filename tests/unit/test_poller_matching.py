"""Pure parts of the poll cycle: sharing searches, building the query, matching routes."""

from datetime import UTC, datetime, timedelta

from bot.alerts.poller import group_routes, match, search_query
from bot.sentry.models import Issue
from bot.store.routes import Route

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def route(
    rid: int,
    channel: str,
    projects: tuple[str, ...] = (),
    query: str = "is:unresolved",
    env: str | None = None,
) -> Route:
    return Route(
        id=rid,
        channel=channel,
        projects=projects,
        query=query,
        environment=env,
        mention=(),
        source="file",
        watermark=T0,
        polled_until=None,
    )


def issue(issue_id: str, project: str, first_seen: datetime) -> Issue:
    return Issue.from_api(
        {
            "id": issue_id,
            "title": "boom",
            "project": {"id": "1", "slug": project, "name": project},
            "firstSeen": first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        web_base="https://sentry.io",
        org="acme",
    )


def test_routes_sharing_query_and_environment_share_a_search() -> None:
    routes = [route(i, f"C{i}", (f"p{i}",)) for i in range(200)]
    routes.append(route(500, "C500", env="production"))
    groups = group_routes(routes)
    assert len(groups) == 2
    assert len(groups[("is:unresolved", None)]) == 200


def test_search_query_bounds_first_seen() -> None:
    assert search_query("is:unresolved level:error", T0) == (
        "is:unresolved level:error firstSeen:>=2026-03-01T12:00:00Z"
    )


def test_match_respects_projects_watermark_and_one_card_per_channel() -> None:
    routes = [route(1, "C1", ("web",)), route(2, "C1"), route(3, "C2", ("api",))]
    issues = [
        issue("10", "web", T0 + timedelta(minutes=1)),
        issue("11", "api", T0 + timedelta(minutes=2)),
        issue("12", "web", T0 - timedelta(seconds=1)),
    ]
    owed = sorted((c.channel, c.issue_id, c.route_id) for c in match(issues, routes))
    assert owed == [("C1", "10", 1), ("C1", "11", 2), ("C2", "11", 3)]
