"""Query-parameter rules of the fake Sentry: what the real server refuses, with its texts.

Each function reads raw query values and either returns the parsed value or raises `ApiError`
with the status and body Sentry answers. Sources (getsentry/sentry):

- `project`: `OrganizationEndpoint.get_requested_project_ids_unchecked` and `get_projects`
  (`src/sentry/api/bases/organization.py`): every value goes through `int()`, a slug gives
  400 "Invalid project parameter. Values must be numbers."; an id the caller cannot see gives
  403 (`PermissionDenied`); `-1` means every project the caller can see.
- `limit`: `build_query_params_from_request` (`src/sentry/api/helpers/group_index/index.py`):
  `int(limit)` failing gives 400 "invalid limit"; the paginators clamp it to 100 (`max_limit`).
- `cursor`: the same function: `Cursor.from_string` failing gives 400 "Invalid cursor parameter."
- `statsPeriod`, `start`/`end`: `get_date_range_from_params` (`src/sentry/api/utils.py`).
- `groupStatsPeriod`: `OrganizationGroupIndexEndpoint.get`
  (`src/sentry/issues/endpoints/organization_group_index.py`, `ERR_INVALID_STATS_PERIOD`).
- `sort`: the search executor indexes `sort_strategies[sort_by]`, so an unknown key is a
  `KeyError` and a 500; `inbox` is only valid with an `is:for_review` search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tests.fakes.sentry_state import ApiError

FORBIDDEN = {"detail": "You do not have permission to perform this action."}
INTERNAL_ERROR = {"detail": "Internal Error", "errorId": "e" * 32}
MAX_LIMIT = 100
ERR_PROJECT = "Invalid project parameter. Values must be numbers."
ERR_GROUP_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'"
# The deprecated project issue list calls its sparkline period `statsPeriod`
# (`issues/endpoints/project_group_index.py`).
ERR_PROJECT_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', and '14d'"
SORT_KEYS = ("date", "new", "freq", "user", "trends", "inbox", "recommended")

_PERIOD = re.compile(r"^(\d+)([hdmsw]?)$")
_PERIOD_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CURSOR = re.compile(r"^-?\d+(?:\.\d+)?:\d+:[01]$")


def requested_project_ids(
    values: list[str], *, visible: Iterable[int], hidden: Iterable[int] = ()
) -> set[int] | None:
    """The project ids a request filters by; None means every project the caller can see."""
    try:
        wanted = {int(value) for value in values}
    except ValueError:
        raise ApiError(400, {"detail": ERR_PROJECT}) from None
    if not wanted or wanted == {-1}:
        return None
    allowed = set(visible) - set(hidden)
    if not wanted <= allowed:
        raise ApiError(403, FORBIDDEN)
    return wanted


def issue_limit(raw: str | None) -> int:
    """`limit` of the issue lists: an integer, clamped to 100 by the paginator."""
    if not raw:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, {"detail": "invalid limit"}) from None
    if limit < 1:
        # Sentry would run the search with an empty page; the fake refuses it (stricter).
        raise ApiError(400, {"detail": "invalid limit"})
    return min(limit, MAX_LIMIT)


def cursor_offset(raw: str | None) -> int:
    """The offset inside a `value:offset:is_prev` cursor (`src/sentry/utils/cursors.py`)."""
    if raw is None or raw == "":
        return 0
    if not _CURSOR.match(raw):
        raise ApiError(400, {"detail": "Invalid cursor parameter."})
    return int(raw.split(":")[1])


def stats_period(raw: str) -> timedelta:
    """`parse_stats_period`: digits and an optional unit; anything else is refused."""
    match = _PERIOD.match(raw)
    if not match:
        raise ApiError(400, {"detail": f"Invalid statsPeriod: {raw!r}"})
    amount, unit = match.groups()
    if unit == "w":
        return timedelta(weeks=int(amount))
    return timedelta(**{_PERIOD_UNITS[unit]: int(amount)})


def date_range(
    period: str | None, start: str | None, end: str | None
) -> tuple[datetime, datetime] | None:
    """`get_date_range_from_params`: statsPeriod wins; start and end only together."""
    if period is not None:
        stats_period(period)
        return None
    if not start and not end:
        return None
    if not (start and end):
        raise ApiError(400, {"detail": "start and end are both required"})
    first, last = _moment(start), _moment(end)
    if first >= last:
        raise ApiError(400, {"detail": "start must be before end"})
    return first, last


def group_stats_period(raw: str | None, *, project_list: bool = False) -> None:
    """The sparkline period: `groupStatsPeriod` (org list) or `statsPeriod` (project list)."""
    if project_list:
        if raw not in (None, "", "24h", "14d"):
            raise ApiError(400, {"detail": ERR_PROJECT_STATS_PERIOD})
    elif raw not in (None, "", "24h", "14d", "auto"):
        raise ApiError(400, {"detail": ERR_GROUP_STATS_PERIOD})


def sort_key(raw: str | None, query: str) -> str:
    """The issue-search sort; an unknown key is a server error in Sentry, not a 400."""
    sort = raw or "date"
    if sort not in SORT_KEYS:
        raise ApiError(500, INTERNAL_ERROR)
    if sort == "inbox" and "is:for_review" not in query:
        raise ApiError(400, {"detail": "Sort key 'inbox' only supported for inbox search"})
    return sort


def _moment(raw: str) -> datetime:
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, {"detail": f"{raw} is not a valid ISO8601 date query"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
