"""The Home tab's modals: built within Slack's limits for any values, and read back from any
submission (hostile or not) as a typed form or errors on the form's own input blocks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.home.modals import (
    FREQUENCIES,
    DigestForm,
    ModalMetadataError,
    RouteForm,
    Target,
    digest_modal,
    frequency_of,
    read_digest,
    read_route,
    remove_modal,
    route_modal,
)
from tests.fakes.blockkit_rules import validate_view
from tests.home_desk import digest_values, route_values
from tests.hostile import json_values

targets = st.builds(
    Target, kind=st.sampled_from(["route", "digest"]), row_id=st.none() | st.integers(1, 2**63 - 1)
)


def input_blocks(modal: dict[str, Any]) -> set[str]:
    return {b["block_id"] for b in modal["blocks"] if b["type"] == "input"}


@given(
    targets,
    st.none() | st.text(max_size=40),
    st.lists(st.text(max_size=60), max_size=40),
    st.text(max_size=700),
    st.none() | st.text(max_size=100),
    st.lists(st.text(max_size=30), max_size=40),
)
def test_the_route_form_is_valid_for_any_values(
    target: Target,
    channel: str | None,
    projects: list[str],
    query: str,
    environment: str | None,
    mention: list[str],
) -> None:
    modal = route_modal(
        target,
        channel=channel,
        projects=projects,
        query=query,
        environment=environment,
        mention=mention,
    )
    assert validate_view(modal) == []
    assert Target.decode(modal["private_metadata"]) == target


@given(targets, st.text(max_size=60), st.text(max_size=80), st.lists(st.text(max_size=60)))
def test_the_digest_form_is_valid_for_any_values(
    target: Target, cron: str, zone: str, projects: list[str]
) -> None:
    modal = digest_modal(target, channel="C0OPS0001", projects=projects, cron=cron, timezone=zone)
    assert validate_view(modal) == []


@given(targets, st.text(max_size=4000))
def test_the_remove_form_is_valid_for_any_description(target: Target, text: str) -> None:
    assert validate_view(remove_modal(target, text or "x")) == []


@given(json_values)
def test_any_route_submission_reads_as_a_form_or_errors_on_its_fields(state: Any) -> None:
    result = read_route(state)
    if isinstance(result, dict):
        assert set(result) <= input_blocks(route_modal(Target("route", None)))
        assert all(isinstance(m, str) and m for m in result.values())
    else:
        assert isinstance(result, RouteForm)


@given(json_values)
def test_any_digest_submission_reads_as_a_form_or_errors_on_its_fields(state: Any) -> None:
    result = read_digest(state)
    if isinstance(result, dict):
        assert set(result) <= input_blocks(digest_modal(Target("digest", None)))
    else:
        assert isinstance(result, DigestForm)


def test_a_route_submission_reads_back_what_was_picked() -> None:
    state = {
        "values": route_values(
            "C0OPS0001",
            projects=("web", "api", "web"),
            query="  is:unresolved   level:error ",
            environment="production",
            users=("U0ANA0001", "U0ANA0001"),
            groups=("S0ONCALL1",),
        )
    }
    assert read_route(state) == RouteForm(
        "C0OPS0001",
        ("api", "web"),
        "is:unresolved level:error",
        "production",
        ("U0ANA0001", "S0ONCALL1"),
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (route_values("D0DIRECT1"), "channel"),
        (route_values("C0OPS0001", query="  "), "query"),
        (route_values("C0OPS0001", environment="prod env"), "environment"),
        (route_values("C0OPS0001", environment="a/b"), "environment"),
        (route_values("C0OPS0001", projects=("../x",)), "projects"),
        (route_values("C0OPS0001", users=("<!channel>",)), "mentions"),
        (route_values("C0OPS0001", users=("S0ONCALL1",)), "mentions"),
        (route_values("C0OPS0001", groups=("U0ANA0001",)), "groups"),
        (route_values("C0OPS0001", groups=("<!here>",)), "groups"),
    ],
)
def test_a_wrong_route_field_gets_its_own_error(values: dict[str, Any], field: str) -> None:
    result = read_route({"values": values})
    assert isinstance(result, dict)
    assert list(result) == [field]


@pytest.mark.parametrize(("key", "_label", "day"), FREQUENCIES)
def test_each_frequency_becomes_a_cron_and_reads_back(key: str, _label: str, day: str) -> None:
    result = read_digest({"values": digest_values("C0OPS0001", frequency=key, at="07:05")})
    assert result == DigestForm("C0OPS0001", (), f"5 7 * * {day}", "UTC")
    assert frequency_of(result.cron) == (key, "07:05")


def test_a_cron_the_form_cannot_show_is_not_guessed() -> None:
    assert frequency_of("*/5 * * * *") is None
    modal = digest_modal(Target("digest", 1), cron="*/5 * * * *")
    assert validate_view(modal) == []


@pytest.mark.parametrize(
    "value", ["", "home:v1:route:", "home:v2:route:1", "home:v1:other:1", "x" * 4000, None, 1]
)
def test_metadata_not_written_by_this_version_is_refused(value: object) -> None:
    with pytest.raises(ModalMetadataError):
        Target.decode(value)
