"""Sentry pagination: the next cursor from `Link` headers as Sentry writes them
(docs.sentry.io/api/pagination/, `sentry/api/base.py`), parsed by httpx."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sentry.models import Page
from bot.sentry.pagination import all_pages, next_cursor

# Verbatim from docs.sentry.io/api/pagination/.
DOCS_EXAMPLE = (
    "<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:0:1>; "
    'rel="previous"; results="false"; cursor="0:0:1", '
    "<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:100:0>; "
    'rel="next"; results="true"; cursor="0:100:0"'
)


def links(header: str | None) -> dict[str | None, dict[str, str]]:
    """The header as the client reads it: parsed by httpx."""
    return httpx.Response(200, headers={} if header is None else {"Link": header}).links


def sentry_link_header(
    path: str, params: list[tuple[str, str]], prev: str, nxt: str, more: bool
) -> str:
    """Sentry's own writer (`sentry/api/base.py` `build_cursor_link`, `CURSOR_LINK_HEADER`)."""
    querystring = urlencode(params)
    base = f"https://sentry.io{quote(path)}" + (f"?{querystring}" if querystring else "?")
    return ", ".join(
        f'<{base}&cursor={cursor}>; rel="{name}"; results="{has}"; cursor="{cursor}"'
        for name, cursor, has in (("previous", prev, "false"), ("next", nxt, str(more).lower()))
    )


def test_next_cursor_of_the_docs_example() -> None:
    parsed = links(DOCS_EXAMPLE)
    assert parsed["previous"]["results"] == "false"
    assert parsed["next"]["url"].endswith("/events/?&cursor=0:100:0")
    assert next_cursor(parsed) == "0:100:0"


def test_last_page_has_no_next_cursor() -> None:
    header = (
        '<https://x/api/0/o/?&cursor=0:0:1>; rel="previous"; results="true"; cursor="0:0:1", '
        '<https://x/api/0/o/?&cursor=0:200:0>; rel="next"; results="false"; cursor="0:200:0"'
    )
    assert next_cursor(links(header)) is None


def test_urls_with_encoded_commas_and_query_strings_keep_their_cursor() -> None:
    header = sentry_link_header(
        "/api/0/organizations/acme/issues/",
        [("query", "is:unresolved a,b;c"), ("limit", "25")],
        "1723456789000:0:1",
        "1723456789000:25:0",
        True,
    )
    assert next_cursor(links(header)) == "1723456789000:25:0"


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", '<https://x/>; results="true"', '<https://x/>; rel="next"'],
)
def test_missing_or_malformed_headers_mean_no_next_page(header: str | None) -> None:
    assert next_cursor(links(header)) is None


def test_cursor_is_opaque() -> None:
    header = '<https://x/?&cursor=abc:def>; rel="next"; results="true"; cursor="abc:def"'
    assert next_cursor(links(header)) == "abc:def"


cursors = st.builds(
    lambda value, offset, prev: f"{value}:{offset}:{int(prev)}",
    st.integers(0, 2**53) | st.floats(0, 1e15, allow_nan=False).map(lambda f: round(f, 3)),
    st.integers(0, 10**6),
    st.booleans(),
)


@given(
    path=st.text(min_size=1, max_size=30).map(lambda t: f"/api/0/organizations/{t}/issues/"),
    params=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=4),
    prev=cursors,
    nxt=cursors,
    more=st.booleans(),
)
def test_any_header_sentry_writes_gives_its_next_cursor(
    path: str, params: list[tuple[str, str]], prev: str, nxt: str, more: bool
) -> None:
    """Whatever path and query Sentry echoes back, the next cursor is read exactly, and only
    while Sentry says that page has results."""
    header = sentry_link_header(path, params, prev, nxt, more)
    assert next_cursor(links(header)) == (nxt if more else None)


async def test_all_pages_follows_cursors_until_the_last_page() -> None:
    pages = {
        None: Page(items=(1, 2), next_cursor="c1"),
        "c1": Page(items=(3,), next_cursor="c2"),
        "c2": Page(items=(4,), next_cursor=None),
    }
    seen: list[str | None] = []

    async def fetch(cursor: str | None) -> Page[int]:
        seen.append(cursor)
        return pages[cursor]

    assert await all_pages(fetch) == [1, 2, 3, 4]
    assert seen == [None, "c1", "c2"]
    assert await all_pages(fetch, max_pages=2) == [1, 2, 3]
