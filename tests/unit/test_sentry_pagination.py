"""Sentry `Link` header parsing (docs.sentry.io/api/pagination/, CONTRACT.md §3)."""

from __future__ import annotations

import pytest

from bot.sentry.models import Page
from bot.sentry.pagination import Link, all_pages, next_cursor, parse_link_header

# Verbatim from docs.sentry.io/api/pagination/ (CONTRACT.md §3).
DOCS_EXAMPLE = (
    "<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:0:1>; "
    'rel="previous"; results="false"; cursor="0:0:1", '
    "<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:100:0>; "
    'rel="next"; results="true"; cursor="0:100:0"'
)


def test_parses_both_links_of_the_docs_example() -> None:
    assert parse_link_header(DOCS_EXAMPLE) == [
        Link(
            url="https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:0:1",
            rel="previous",
            results=False,
            cursor="0:0:1",
        ),
        Link(
            url="https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:100:0",
            rel="next",
            results=True,
            cursor="0:100:0",
        ),
    ]
    assert next_cursor(DOCS_EXAMPLE) == "0:100:0"


def test_last_page_has_no_next_cursor() -> None:
    header = (
        '<https://x/api/0/o/?&cursor=0:0:1>; rel="previous"; results="true"; cursor="0:0:1", '
        '<https://x/api/0/o/?&cursor=0:200:0>; rel="next"; results="false"; cursor="0:200:0"'
    )
    assert next_cursor(header) is None


def test_urls_with_commas_and_query_strings_keep_their_cursor() -> None:
    header = (
        "<https://sentry.io/api/0/organizations/acme/issues/?query=is%3Aunresolved+a%2Cb"
        '&limit=25&cursor=1723456789000:0:1>; rel="previous"; results="false"; '
        'cursor="1723456789000:0:1", '
        "<https://sentry.io/api/0/organizations/acme/issues/?query=a,b;c&limit=25"
        '&cursor=1723456789000:25:0>; rel="next"; results="true"; cursor="1723456789000:25:0"'
    )
    links = parse_link_header(header)
    assert [link.rel for link in links] == ["previous", "next"]
    assert links[1].url.endswith("query=a,b;c&limit=25&cursor=1723456789000:25:0")
    assert next_cursor(header) == "1723456789000:25:0"


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", '<https://x/>; results="true"', '<https://x/>; rel="next"'],
)
def test_missing_or_malformed_headers_mean_no_next_page(header: str | None) -> None:
    assert next_cursor(header) is None


def test_cursor_is_opaque_and_case_of_flags_is_tolerated() -> None:
    header = '<https://x/?&cursor=abc:def>; REL="next"; Results="TRUE"; Cursor="abc:def"'
    assert next_cursor(header) == "abc:def"


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
