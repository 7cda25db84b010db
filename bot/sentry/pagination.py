"""Sentry's cursor pagination: the next cursor from an answer's `Link` header, and page iteration.

Sentry always sends both links (docs.sentry.io/api/pagination/, `sentry/api/base.py`
`CURSOR_LINK_HEADER`), e.g.::

    <https://sentry.io/api/0/…/?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1",
    <https://sentry.io/api/0/…/?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"

A following page exists only while `rel="next"` carries `results="true"`. Cursors are opaque.
The header is parsed by httpx (`Response.links`, httpx `_models.py` `_parse_header_links`):
Sentry writes the parameter names in lower case and percent-encodes the URL's path and query
(`quote` and `urlencode` in `build_cursor_link`), so no `;` or `,` appears inside the `<…>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

from bot.sentry.ids import Cursor
from bot.sentry.models import Page

T = TypeVar("T")


def next_cursor(links: Mapping[str | None, Mapping[str, str]]) -> Cursor | None:
    """The cursor of the next page, from an answer's links as httpx parses them
    (`httpx.Response.links`, keyed by `rel`); None when `rel="next"` says `results="false"`,
    is missing, or carries a cursor Sentry does not make (paging stops rather than sending it
    back)."""
    following = links.get("next")
    if following is None or following.get("results") != "true":
        return None
    return Cursor.parse(following.get("cursor"))


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
