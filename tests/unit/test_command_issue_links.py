"""Issue links typed into `/sentry` are read by the same parser as shared links: whatever the
link, the command names the issue the unfurl would show, or refuses the link saying why."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.commands.model import IssueCommand
from bot.commands.parser import CommandError, parse
from bot.sentry.links import SentryWeb, parse_issue_link

SETTINGS = [
    ("sentry.io", "https://sentry.io"),
    ("us.sentry.io", "https://us.sentry.io"),
    ("sentry.example.com", "https://sentry.example.com"),
    ("sentry.example.com:9000", "https://sentry.example.com:9000"),
]

slugs = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
issue_ids = st.integers(min_value=1, max_value=2**63 - 1).map(str)
short_ids = st.from_regex(r"[A-Z][A-Z0-9]{0,8}-[A-Z0-9]{1,6}", fullmatch=True)
tails = st.sampled_from(["", "/", "/events/abc123/", "/?query=is%3Aunresolved", "/#activity"])
hosts = st.sampled_from(
    ["sentry.io", "acme.sentry.io", "us.sentry.io", "sentry.example.com", "evil.example"]
)
ports = st.sampled_from(["", ":443", ":9000", ":8443"])
schemes = st.sampled_from(["https", "http"])


def command(text: str, setting: str) -> IssueCommand | CommandError:
    try:
        parsed = parse(f"issue {text}", sentry_web_host=setting, sentry_org="acme")
    except CommandError as exc:
        return exc
    assert isinstance(parsed, IssueCommand)
    return parsed


@pytest.mark.parametrize(("setting", "base"), SETTINGS)
@given(
    scheme=schemes,
    host=hosts,
    port=ports,
    org=st.sampled_from(["acme"]) | slugs,
    form=st.sampled_from(["path", "domain"]),
    issue=issue_ids | short_ids,
    tail=tails,
)
def test_the_command_reads_a_link_exactly_as_an_unfurl_does(
    setting: str,
    base: str,
    scheme: str,
    host: str,
    port: str,
    org: str,
    form: str,
    issue: str,
    tail: str,
) -> None:
    if form == "path":
        link = f"{scheme}://{host}{port}/organizations/{org}/issues/{issue}{tail}"
    else:
        link = f"{scheme}://{org}.{host}{port}/issues/{issue}{tail}"
    expected = parse_issue_link(link, SentryWeb.from_base_url(base, "acme"))
    for typed in (link, f"<{link}>", f"<{link}|the issue>"):
        result = command(typed, setting)
        if expected is None:
            assert isinstance(result, CommandError), (typed, result)
            assert any(
                why in result.message
                for why in (
                    "not to this Sentry",
                    "of the Sentry organization",
                    "is not a link to a Sentry issue",
                )
            ), result.message
        else:
            assert isinstance(result, IssueCommand), (typed, result)
            assert result.issue.value == expected


@given(org=slugs, issue=issue_ids, tail=tails)
def test_a_link_to_another_organization_is_refused_naming_it(
    org: str, issue: str, tail: str
) -> None:
    assume(org != "acme")
    for link in (
        f"https://sentry.io/organizations/{org}/issues/{issue}{tail}",
        f"https://{org}.sentry.io/issues/{issue}{tail}",
    ):
        if org in ("us", "de") and link.startswith(f"https://{org}."):
            continue  # us.sentry.io and de.sentry.io are regions, not organizations
        result = command(link, "sentry.io")
        assert isinstance(result, CommandError)
        assert f"organization '{org}', not of acme" in result.message


@given(host=st.from_regex(r"[a-z][a-z0-9-]{0,20}\.[a-z]{2,6}", fullmatch=True), issue=issue_ids)
def test_a_link_to_another_host_is_refused_naming_both_hosts(host: str, issue: str) -> None:
    assume(host not in ("sentry.io", "sentry.example.com"))
    result = command(f"https://{host}/organizations/acme/issues/{issue}/", "sentry.example.com")
    assert isinstance(result, CommandError)
    assert f"points to '{host}', not to this Sentry (sentry.example.com)" in result.message
