"""Parsing at the Sentry boundary: every decoder of Sentry JSON is total, its output bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.card.state import revision as card_state_hash
from bot.sentry import bounds
from bot.sentry.body import MAX_DEPTH, BodyUnreadable, parse_json, prune_deep
from bot.sentry.ids import MAX_BIGINT, Cursor, InvalidId, IssueId
from bot.sentry.models import (
    Event,
    Issue,
    LinkPolicy,
    Member,
    Organization,
    Project,
    Release,
    Team,
    UnreadableItem,
)
from bot.slack.card import build_issue_card
from tests.fakes.sentry_hostile import HOSTILE_CLASSES, hostile_issue, issue_template

WEB = "https://sentry.example"
SURROGATE_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None), max_size=40
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    SURROGATE_TEXT,
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1", "web"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SURROGATE_TEXT, inner, max_size=4),
    max_leaves=15,
)
TEMPLATE = issue_template(org="acme", web_url=WEB, project="web", issue_id=42)


@st.composite
def spoiled(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    body = dict(template)
    for key in draw(st.lists(st.sampled_from(sorted(template)), max_size=8, unique=True)):
        if draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(json_values)
    return body


def assert_issue_fits(issue: Issue) -> None:
    for text in (issue.title, issue.culprit, issue.short_id, issue.status, issue.level):
        text.encode("utf-8")
    assert len(issue.title) <= bounds.MAX_TEXT
    assert 0 <= issue.count <= MAX_BIGINT
    assert 0 <= issue.user_count <= MAX_BIGINT
    assert bounds.EARLIEST <= issue.first_seen <= bounds.LATEST
    assert issue.permalink.startswith(WEB + "/")
    assert len(card_state_hash(issue)) <= 64
    card = build_issue_card(issue)
    json.dumps(card, ensure_ascii=False).encode("utf-8")


@given(spoiled(TEMPLATE))
def test_an_issue_parses_or_is_refused_as_unreadable(data: dict[str, Any]) -> None:
    try:
        issue = Issue.from_api(data, web_base=WEB, org="acme")
    except UnreadableItem:
        return
    assert_issue_fits(issue)


PARSERS = [
    (Event.from_api, {"id": "1", "tags": [], "entries": []}),
    (Member.from_api, {"id": "1", "email": "a@b.c", "user": {"id": "2"}}),
    (Team.from_api, {"id": "3", "slug": "core", "name": "Core"}),
    (Project.from_api, {"id": "2", "slug": "web", "teams": [{"id": "3"}]}),
    (Release.from_api, {"version": "1.0", "projects": [{"slug": "web"}]}),
    (Organization.from_api, {"slug": "acme", "links": {"organizationUrl": WEB}}),
]


@pytest.mark.parametrize(("parse", "template"), PARSERS)
def test_every_other_object_parses_or_is_refused_as_unreadable(
    parse: Any, template: dict[str, Any]
) -> None:
    @given(spoiled(template), st.dictionaries(SURROGATE_TEXT, json_values, max_size=3))
    def check(data: dict[str, Any], extra: dict[str, Any]) -> None:
        try:
            parsed = parse({**extra, **data})
        except UnreadableItem:
            return
        json.dumps(repr(parsed)).encode("utf-8")

    check()


@pytest.mark.parametrize("kind", HOSTILE_CLASSES)
def test_each_hostile_class_decodes_and_fits(kind: str) -> None:
    [data] = parse_json(("[" + hostile_issue(kind, TEMPLATE) + "]").encode())
    if kind == "non_numeric_id":
        with pytest.raises(UnreadableItem, match="no numeric id"):
            Issue.from_api(data, web_base=WEB, org="acme")
        return
    issue = Issue.from_api(data, web_base=WEB, org="acme")
    assert_issue_fits(issue)
    assert issue.id == "42"


@given(SURROGATE_TEXT, st.integers(min_value=0, max_value=100))
def test_text_is_valid_utf8_and_bounded(value: str, limit: int) -> None:
    clamped = bounds.text(value, limit)
    clamped.encode("utf-8")
    assert len(clamped) <= limit
    assert "\x00" not in clamped


@given(st.one_of(json_values, st.text(alphabet="0123456789", max_size=6000)))
def test_counts_fit_bigint(value: Any) -> None:
    assert 0 <= bounds.count(value) <= MAX_BIGINT


@given(
    st.datetimes(timezones=st.just(timezone(timedelta(hours=-14))))
    | st.datetimes(timezones=st.just(timezone(timedelta(hours=14))))
)
def test_moments_are_clamped_into_the_safe_range(moment: datetime) -> None:
    clamped = bounds.moment(moment)
    assert bounds.EARLIEST <= clamped <= bounds.LATEST
    assert clamped + timedelta(days=3650) > clamped  # room to add a retention window


@given(json_values)
def test_json_round_trips_with_integers_clamped(value: Any) -> None:
    text = json.dumps(value)
    decoded = parse_json(text.encode())
    assert json.dumps(decoded) == json.dumps(_clamp_ints(value))


def _clamp_ints(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | list | dict):
        return value
    if isinstance(value, int):
        return max(min(value, MAX_BIGINT), -MAX_BIGINT)
    if isinstance(value, list):
        return [_clamp_ints(v) for v in value]
    return {k: _clamp_ints(v) for k, v in value.items()}


@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", '{"k": ']))
def test_any_nesting_decodes_with_the_deep_part_cut(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = '{"keep": 1, "deep": ' + opener * depth + "0" + closer * depth + "}"
    decoded = parse_json(text.encode())
    assert decoded["keep"] == 1
    kept = _depth(decoded["deep"])
    assert kept == depth or (depth > MAX_DEPTH and kept <= MAX_DEPTH)


def _depth(value: Any) -> int:
    """Nesting depth of a chain of single-child containers, without recursion."""
    depth = 0
    while isinstance(value, list | dict) and value:
        depth += 1
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return depth


def test_a_huge_integer_becomes_the_largest_bigint() -> None:
    assert parse_json(b'{"userCount": ' + b"9" * 5000 + b"}") == {"userCount": MAX_BIGINT}
    assert parse_json(b"-" + b"9" * 5000) == -MAX_BIGINT


def test_prune_keeps_strings_whole() -> None:
    text = '[{"a": "[[[{{{", "b": [[[1]]]}]'
    assert json.loads(prune_deep(text, 2)) == [{"a": "[[[{{{", "b": None}]


@pytest.mark.parametrize("body", [b"", b"[", b"{'a': 1}", b"\xff\xfe", b'{"a": 1} x'])
def test_what_is_not_json_is_a_typed_error(body: bytes) -> None:
    with pytest.raises(BodyUnreadable):
        parse_json(body)


# -- links -------------------------------------------------------------------------------------

POLICY = LinkPolicy(
    web_base="https://sentry.io", org="acme", organization_url="https://acme.example"
)


@pytest.mark.parametrize(
    "url",
    [
        "https://sentry.io/organizations/acme/issues/1/",
        "https://acme.sentry.io/issues/1/",
        "https://acme.example/issues/1/?project=2",
    ],
)
def test_links_on_sentry_are_kept(url: str) -> None:
    assert POLICY.permalink(url, _id()) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/issues/1/",
        "https://sentry.io.evil.example/issues/1/",
        "https://evilsentry.io/issues/1/",
        "https://sentry.io@evil.example/",
        "https://evil.example\\@sentry.io/",
        "http://sentry.io/organizations/acme/issues/1/",
        "javascript:alert(1)//sentry.io/",
        "https://sentry.io:8443/x",
        "https://sentry.io/a b",
        "",
    ],
)
def test_other_links_are_rebuilt_from_the_web_base(url: str) -> None:
    assert POLICY.permalink(url, _id()) == "https://sentry.io/organizations/acme/issues/7/"


@given(st.text(max_size=60))
def test_a_kept_link_always_points_at_sentry(url: str) -> None:
    kept = POLICY.permalink(url, _id())
    assert kept.startswith(("https://sentry.io/", "https://acme.example")) or (
        kept.startswith("https://") and ".sentry.io" in kept.split("/")[2]
    )
    assert "\\" not in kept
    assert "@" not in kept.split("/")[2]


def _id() -> IssueId:
    return IssueId("7")


@pytest.mark.parametrize("value", ["0:100:0", "1700000000000:0:1", "abc:def"])
def test_cursors_sentry_makes_are_kept(value: str) -> None:
    assert Cursor(value) == value


@pytest.mark.parametrize("value", ["", "a b", "x" * 101, "0:1:0&id=1", "../"])
def test_other_cursors_are_refused(value: str) -> None:
    with pytest.raises(InvalidId):
        Cursor(value)
