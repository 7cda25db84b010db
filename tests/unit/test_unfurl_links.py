"""The issue-link parser: every documented form is read, any other host, organization or id is
not an issue link, and no input makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.sentry.ids import IssueId, ShortId
from bot.sentry.links import SentryWeb, parse_issue_link

SAAS = SentryWeb.from_base_url("https://sentry.io", "acme")
US = SentryWeb.from_base_url("https://us.sentry.io", "acme")
SELF = SentryWeb.from_base_url("https://sentry.example.com", "acme")
SELF_PORT = SentryWeb.from_base_url("http://127.0.0.1:9000", "acme")
SELF_PATH = SentryWeb.from_base_url("https://example.com/sentry", "acme")


@pytest.mark.parametrize(
    ("web", "url", "expected"),
    [
        (SAAS, "https://sentry.io/organizations/acme/issues/4506842918/", "4506842918"),
        (SAAS, "https://acme.sentry.io/issues/4506842918/", "4506842918"),
        (SAAS, "https://acme.sentry.io/issues/4506842918", "4506842918"),
        (SAAS, "https://acme.sentry.io/issues/4506842918/?project=11&query=is%3A", "4506842918"),
        (SAAS, "https://acme.sentry.io/issues/4506842918/events/a1b2c3d4e5/", "4506842918"),
        (SAAS, "https://acme.sentry.io/issues/4506842918/events/latest/#x", "4506842918"),
        (SAAS, "https://us.sentry.io/organizations/acme/issues/42/", "42"),
        (SAAS, "https://de.sentry.io/organizations/acme/issues/42/", "42"),
        (SAAS, "https://ACME.Sentry.IO/issues/42/", "42"),
        (SAAS, "https://acme.sentry.io/issues/BACKEND-3F/", "BACKEND-3F"),
        (SAAS, "https://acme.sentry.io/issues/backend-3f/", "BACKEND-3F"),
        (SAAS, "https://sentry.io/organizations/acme/issues/WEB-1/events/x/", "WEB-1"),
        (US, "https://acme.sentry.io/issues/42/", "42"),
        (US, "https://sentry.io/organizations/acme/issues/42/", "42"),
        (SELF, "https://sentry.example.com/organizations/acme/issues/7/", "7"),
        (SELF, "https://sentry.example.com:443/organizations/acme/issues/7/", "7"),
        (SELF_PORT, "http://127.0.0.1:9000/organizations/acme/issues/7/?a=b", "7"),
        # Slack links a typed `acme.sentry.io/issues/42/` as http; Sentry redirects to https.
        (SAAS, "http://acme.sentry.io/issues/42/", "42"),
        (SELF, "http://sentry.example.com/organizations/acme/issues/7/", "7"),
        (SELF_PATH, "https://example.com/sentry/organizations/acme/issues/7/", "7"),
    ],
)
def test_every_form_of_an_issue_link_is_read(web: SentryWeb, url: str, expected: str) -> None:
    assert parse_issue_link(url, web) == expected


@pytest.mark.parametrize(
    ("web", "url"),
    [
        (SAAS, "https://sentry.io/organizations/other/issues/42/"),
        (SAAS, "https://other.sentry.io/issues/42/"),
        (SAAS, "https://acme.sentry.io.evil.com/issues/42/"),
        (SAAS, "https://evil.com/organizations/acme/issues/42/"),
        (SAAS, "https://acme.sentry.io:8443/issues/42/"),
        (SAAS, "https://user:pw@acme.sentry.io/issues/42/"),
        (SAAS, "ftp://acme.sentry.io/issues/42/"),
        (SAAS, "https://acme.sentry.io/issues/"),
        (SAAS, "https://acme.sentry.io/issues/0/"),
        (SAAS, "https://acme.sentry.io/issues/99999999999999999999/"),
        (SAAS, "https://acme.sentry.io/issues/../"),
        (SAAS, "https://acme.sentry.io/issues/%2E%2E/"),
        (SAAS, "https://acme.sentry.io/issues/?query=WEB-3F"),
        (SAAS, "https://acme.sentry.io/organizations/acme/projects/"),
        (SAAS, "https://sentry.io/organizations/acme/issues//42/"),
        (SAAS, "https://acme.sentry.io/issues/42/../../other/"),
        (SELF, "https://sentry.example.com:9000/organizations/acme/issues/7/"),
        (SELF, "http://sentry.example.com:80/organizations/acme/issues/7/"),
        (SELF_PORT, "http://127.0.0.1/organizations/acme/issues/7/"),
        (SELF, "https://sentry.io/organizations/acme/issues/7/"),
        (SELF, "https://acme.sentry.io/issues/7/"),
        (SELF_PATH, "https://example.com/organizations/acme/issues/7/"),
        (SELF_PATH, "https://example.com/sentryx/organizations/acme/issues/7/"),
        (SAAS, "https://[::1/issues/42/"),
        (SAAS, "https://acme.sentry.io:99999/issues/42/"),
    ],
)
def test_anything_else_is_not_an_issue_link(web: SentryWeb, url: str) -> None:
    assert parse_issue_link(url, web) is None


def test_the_domain_to_register_with_slack() -> None:
    assert SAAS.domain == US.domain == "sentry.io"
    assert SELF.domain == "sentry.example.com"


slugs = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
issue_ids = st.integers(min_value=1, max_value=2**63 - 1).map(str)
short_ids = st.from_regex(r"[A-Z][A-Z0-9]{0,8}-[A-Z0-9]{1,6}", fullmatch=True)
tails = st.sampled_from(["", "/", "/events/abc123/", "/?query=is%3Aunresolved", "/#activity"])


@given(st.text(max_size=300))
def test_any_text_is_read_without_raising(text: str) -> None:
    result = parse_issue_link(text, SAAS)
    assert result is None or isinstance(result, IssueId | ShortId)


@given(st.from_regex(r"https?://[^\s]{0,120}", fullmatch=True))
def test_any_url_gives_a_typed_id_or_none(url: str) -> None:
    for web in (SAAS, SELF, SELF_PORT):
        result = parse_issue_link(url, web)
        assert result is None or isinstance(result, IssueId | ShortId)
        if result is not None:
            assert "acme" in url.lower()


@given(issue=issue_ids | short_ids, tail=tails)
def test_every_form_names_the_issue_it_links_to(issue: str, tail: str) -> None:
    expected = issue.upper()
    assert parse_issue_link(f"https://acme.sentry.io/issues/{issue}{tail}", SAAS) == expected
    assert (
        parse_issue_link(f"https://sentry.io/organizations/acme/issues/{issue}{tail}", SAAS)
        == expected
    )
    assert (
        parse_issue_link(
            f"https://sentry.example.com/organizations/acme/issues/{issue}{tail}", SELF
        )
        == expected
    )


@given(org=slugs, issue=issue_ids | short_ids, tail=tails)
def test_another_organization_is_never_accepted(org: str, issue: str, tail: str) -> None:
    assume(org != "acme")
    for url in (
        f"https://{org}.sentry.io/issues/{issue}{tail}",
        f"https://sentry.io/organizations/{org}/issues/{issue}{tail}",
    ):
        assert parse_issue_link(url, SAAS) is None
    assert (
        parse_issue_link(f"https://sentry.example.com/organizations/{org}/issues/{issue}", SELF)
        is None
    )


@given(host=st.from_regex(r"[a-z][a-z0-9.-]{0,30}[a-z]", fullmatch=True), issue=issue_ids)
def test_another_host_is_never_accepted(host: str, issue: str) -> None:
    assume(host not in ("sentry.io", "us.sentry.io", "de.sentry.io", "acme.sentry.io"))
    assert parse_issue_link(f"https://{host}/organizations/acme/issues/{issue}/", SAAS) is None
    assume(host not in ("sentry.example.com", "acme.sentry.example.com"))
    assert parse_issue_link(f"https://{host}/organizations/acme/issues/{issue}/", SELF) is None
