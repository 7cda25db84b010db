"""Clamping of Sentry's strings, counts, dates and free JSON to what the store and Slack accept.

Everything a Sentry answer holds is untrusted: a title may carry lone UTF-16 surrogates (valid
JSON escapes, invalid UTF-8, so hashing or posting it fails), a count may have thousands of
digits, a date may lie outside what Python or the database can hold (`9999-12-31T23:59:59-14:00`
is year 10000 in UTC). These functions never raise: they return the nearest value that fits.
Limits: PostgreSQL BIGINT and `timestamptz`, Python's `datetime` (years 1 to 9999), UTF-8 text
without NUL (PostgreSQL refuses NUL in text), Slack's 3,000-character text objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from bot.sentry.ids import MAX_BIGINT

# Issue dates are kept within these years: far enough for any real clock, far enough from
# Python's year 9999 that adding a retention window or a look-back cannot overflow.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
MAX_TEXT: Final = 3000
MAX_WORD: Final = 200
MAX_URL: Final = 2048
# Free-form JSON kept from Sentry (`statusDetails`, `metadata`): this deep and this wide.
MAX_JSON_DEPTH: Final = 4
MAX_JSON_ITEMS: Final = 50
_BIGINT_DIGITS: Final = len(str(MAX_BIGINT))

_SURROGATE_OR_NUL = re.compile("[\ud800-\udfff\x00]")


def text(value: object, limit: int = MAX_TEXT, default: str = "") -> str:
    """`value` if it is a string, as valid UTF-8 (lone surrogates and NUL replaced), cut."""
    if not isinstance(value, str):
        return default
    cut = value[:limit]
    return _SURROGATE_OR_NUL.sub("\ufffd", cut)


def optional_text(value: object, limit: int = MAX_WORD) -> str | None:
    return text(value, limit) if isinstance(value, str) else None


def count(value: object) -> int:
    """A non-negative count that fits BIGINT; Sentry sends an issue's `count` as a string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return min(max(value, 0), MAX_BIGINT)
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        # float(MAX_BIGINT) rounds up to 2**63, so clamp again after the conversion.
        return min(int(min(max(value, 0.0), float(MAX_BIGINT))), MAX_BIGINT)
    if isinstance(value, str):
        digits = value.strip()
        if not digits.isascii() or not digits.isdigit():
            return 0
        digits = digits.lstrip("0") or "0"
        if len(digits) > _BIGINT_DIGITS:
            return MAX_BIGINT
        return min(int(digits), MAX_BIGINT)
    return 0


def json_int(digits: str) -> int:
    """`parse_int` for `json.loads`: a huge literal becomes the nearest BIGINT instead of
    exceeding Python's integer-string limit and failing the whole document."""
    negative = digits.startswith("-")
    body = digits.lstrip("-").lstrip("0") or "0"
    if len(body) > _BIGINT_DIGITS or int(body) > MAX_BIGINT:
        return -MAX_BIGINT if negative else MAX_BIGINT
    return -int(body) if negative else int(body)


def moment(value: datetime) -> datetime:
    """`value` in UTC, clamped into [EARLIEST, LATEST]."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return LATEST if value.year > 5000 else EARLIEST
    return min(max(utc, EARLIEST), LATEST)


def shallow_json(value: object, depth: int = MAX_JSON_DEPTH) -> Any:
    """A copy of free-form JSON at most `depth` deep and `MAX_JSON_ITEMS` wide, strings clamped;
    deeper parts are dropped (None) so nothing downstream recurses over Sentry's nesting."""
    if isinstance(value, str):
        return text(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return min(max(value, -MAX_BIGINT), MAX_BIGINT)
    if depth <= 0:
        return None
    if isinstance(value, Mapping):
        return {
            text(key, MAX_WORD): shallow_json(item, depth - 1)
            for key, item in list(value.items())[:MAX_JSON_ITEMS]
            if isinstance(key, str)
        }
    if isinstance(value, list):
        return [shallow_json(item, depth - 1) for item in value[:MAX_JSON_ITEMS]]
    return None


def mapping(value: object) -> dict[str, Any]:
    """`shallow_json` of a JSON object, or `{}` when `value` is not one."""
    clamped = shallow_json(value)
    return clamped if isinstance(clamped, dict) else {}
