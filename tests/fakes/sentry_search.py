"""The subset of Sentry's issue search syntax the fake Sentry understands.

Syntax per docs.sentry.io/concepts/search/: `key:value`, `key:"quoted"`,
`key:[a, b]` (any of), `!key:value`, comparison values (`>2024-01-01T00:00:00Z`, `<=…`) and
relative times (`-24h` = within the last 24 hours, `+24h` = older), and free text, quoted or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class QueryError(ValueError):
    """The query cannot be parsed; Sentry answers 400 `Error parsing search query: …`."""


@dataclass(frozen=True, slots=True)
class Term:
    """One search term; `key` is None for free text."""

    key: str | None
    values: tuple[str, ...]
    negated: bool = False


def parse_query(text: str) -> list[Term]:
    """Split a search string into terms, honouring quotes and `[a, b]` lists."""
    terms: list[Term] = []
    pos = 0
    length = len(text)
    while pos < length:
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] == '"':
            value, pos = _quoted(text, pos)
            terms.append(Term(key=None, values=(value,)))
            continue
        negated = text[pos] == "!"
        start = pos + 1 if negated else pos
        match = re.match(r"[A-Za-z_][A-Za-z0-9_.]*:", text[start:])
        if not match:
            end = _word_end(text, pos)
            terms.append(Term(key=None, values=(text[pos:end],)))
            pos = end
            continue
        key = match.group(0)[:-1]
        pos = start + len(match.group(0))
        if pos < length and text[pos] == '"':
            value, pos = _quoted(text, pos)
            values: tuple[str, ...] = (value,)
        elif pos < length and text[pos] == "[":
            close = text.find("]", pos)
            if close == -1:
                raise QueryError(f"unclosed list after {key}:")
            values = tuple(v.strip().strip('"') for v in text[pos + 1 : close].split(","))
            pos = close + 1
        else:
            end = _word_end(text, pos)
            values = (text[pos:end],)
            pos = end
        if not all(values):
            raise QueryError(f"empty value for {key}:")
        terms.append(Term(key=key, values=values, negated=negated))
    return terms


def _quoted(text: str, pos: int) -> tuple[str, int]:
    close = text.find('"', pos + 1)
    if close == -1:
        raise QueryError("unclosed quote")
    return text[pos + 1 : close], close + 1


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    return pos


_RELATIVE = re.compile(r"^([+-])(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def matches_time(value: str, moment: datetime, *, now: datetime) -> bool:
    """Does `moment` satisfy a date filter value such as `>2024-01-01T00:00:00` or `-24h`?"""
    relative = _RELATIVE.match(value)
    if relative:
        sign, amount, unit = relative.groups()
        boundary = now - timedelta(**{_UNITS[unit]: int(amount)})
        return moment >= boundary if sign == "-" else moment < boundary
    op_match = re.match(r"^(>=|<=|>|<|=)?(.+)$", value)
    if not op_match:
        raise QueryError(f"invalid date {value!r}")
    op, raw = op_match.group(1) or "=", op_match.group(2)
    boundary = _parse_moment(raw)
    return {
        ">": moment > boundary,
        ">=": moment >= boundary,
        "<": moment < boundary,
        "<=": moment <= boundary,
        "=": boundary <= moment < boundary + timedelta(days=1),
    }[op]


def matches_number(value: str, number: int) -> bool:
    """Numeric filters such as `times_seen:>100`."""
    op_match = re.match(r"^(>=|<=|>|<)?(\d+)$", value)
    if not op_match:
        raise QueryError(f"invalid number {value!r}")
    op, raw = op_match.group(1) or "=", int(op_match.group(2))
    return {
        ">": number > raw,
        ">=": number >= raw,
        "<": number < raw,
        "<=": number <= raw,
        "=": number == raw,
    }[op]


def _parse_moment(raw: str) -> datetime:
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise QueryError(f"invalid date {raw!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_period(value: str) -> timedelta:
    """`24h`, `14d` → a timedelta (the `statsPeriod` parameter)."""
    match = re.match(r"^(\d+)([smhdw])$", value)
    if not match:
        raise QueryError(f"invalid period {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
