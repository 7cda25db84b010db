"""Sentry's cursor pagination: a pure parser of the `Link` header, and page iteration.

Sentry always sends both links (docs.sentry.io/api/pagination/, `sentry/api/base.py`
`CURSOR_LINK_HEADER`), e.g.::

    <https://sentry.io/api/0/…/?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1",
    <https://sentry.io/api/0/…/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"

A following page exists only while `rel="next"` carries `results="true"`. Cursors are opaque.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.sentry.ids import Cursor
from bot.sentry.models import Page

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a `Link` header with Sentry's extra `results` and `cursor` parameters."""

    url: str
    rel: str
    results: bool | None
    cursor: str | None


def parse_link_header(value: str | None) -> list[Link]:
    """Parse an RFC 8288 `Link` header; malformed parts are skipped rather than raised."""
    if not value:
        return []
    links: list[Link] = []
    for part in _split_outside_quotes(value, ","):
        part = part.strip()
        if not part.startswith("<") or ">" not in part:
            continue
        url, _, rest = part[1:].partition(">")
        params: dict[str, str] = {}
        for raw in _split_outside_quotes(rest, ";"):
            key, sep, val = raw.strip().partition("=")
            if not sep:
                continue
            val = val.strip()
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1]
            params[key.strip().lower()] = val
        if "rel" not in params:
            continue
        results_text = params.get("results")
        links.append(
            Link(
                url=url.strip(),
                rel=params["rel"],
                results=None if results_text is None else results_text.lower() == "true",
                cursor=params.get("cursor"),
            )
        )
    return links


def next_cursor(value: str | None) -> Cursor | None:
    """The cursor of the next page, or None when `rel="next"` says `results="false"` (or its
    cursor is not one Sentry makes: paging stops rather than sending it back)."""
    for link in parse_link_header(value):
        if link.rel == "next":
            return Cursor.parse(link.cursor) if link.results and link.cursor else None
    return None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on `separator` except inside `<…>` or `"…"` (URLs and quoted values hold commas)."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_url = False
    for char in text:
        if char == '"' and not in_url:
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_url = True
        elif char == ">" and not in_quotes:
            in_url = False
        if char == separator and not in_quotes and not in_url:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


async def iterate_pages(
    fetch: Callable[[Cursor | None], Awaitable[Page[T]]], *, max_pages: int | None = None
) -> AsyncIterator[T]:
    """Yield every item of every page, following `next_cursor` (bounded by `max_pages`)."""
    cursor: Cursor | None = None
    pages = 0
    while True:
        page = await fetch(cursor)
        pages += 1
        for item in page.items:
            yield item
        if page.next_cursor is None or (max_pages is not None and pages >= max_pages):
            return
        cursor = page.next_cursor


async def all_pages(
    fetch: Callable[[Cursor | None], Awaitable[Page[T]]], *, max_pages: int | None = None
) -> list[T]:
    """Collect `iterate_pages` into a list."""
    return [item async for item in iterate_pages(fetch, max_pages=max_pages)]
