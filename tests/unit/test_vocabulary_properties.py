"""Every row of the triage vocabulary round-trips through each form derived from it.

Card value → action → card value, command word → action → command word, and every action's
Sentry body is valid for Sentry's issue update (the request schemas of
`updateOrganizationIssue` / `updateOrganizationIssues` in the lenient OpenAPI subset the fake
Sentry enforces).
"""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.model import IgnoreCommand, ResolveCommand
from bot.commands.parser import parse
from bot.slack import actions
from bot.slack.actions import ActionValue
from bot.triage import command_words, vocabulary
from bot.triage.command_words import (
    ignore_from_word,
    ignore_word,
    resolve_from_switches,
    resolve_switches,
)
from bot.triage.vocabulary import (
    CHOICES,
    MAX_IGNORE_COUNT,
    MAX_IGNORE_MINUTES,
    MAX_IGNORE_WINDOW,
    Assign,
    Choice,
    Ignore,
    Resolve,
    TriageAction,
    Unresolve,
    card_word,
    sentry_body,
)
from tests.fakes.sentry_server import issue_update_schemas

issue_ids = st.integers(min_value=1, max_value=2**63 - 1).map(str)
sentry_ids = st.integers(min_value=1, max_value=10**12).map(str)
actors = st.one_of(sentry_ids.map(lambda i: f"user:{i}"), sentry_ids.map(lambda i: f"team:{i}"))
rows = st.sampled_from(CHOICES)
windows = st.sampled_from([0, 60, 1440, MAX_IGNORE_WINDOW])
counts = st.integers(min_value=1, max_value=MAX_IGNORE_COUNT)
minutes = st.integers(min_value=1, max_value=MAX_IGNORE_MINUTES)
ignores = st.one_of(
    st.sampled_from([Ignore("until_escalating"), Ignore("forever")]),
    minutes.map(lambda m: Ignore("duration", m)),
    st.builds(Ignore, st.sampled_from(["events", "users"]), counts, windows),
)
triage_actions: st.SearchStrategy[TriageAction] = st.one_of(
    st.sampled_from([Resolve("now"), Resolve("next_release"), Resolve("current_release")]),
    ignores,
    actors.map(Assign),
    st.just(Assign("")),
    st.just(Unresolve()),
)


# ---- card value → action → card value ---------------------------------------------------------


@given(rows, issue_ids, actors)
def test_every_row_round_trips_through_a_card_value(row: Choice, issue_id: str, me: str) -> None:
    value = ActionValue.decode(ActionValue.of(issue_id, row).encode())
    assert (value.issue_id, value.choice) == (issue_id, row)
    action = value.action(me=me)
    if row.asks is not None:
        assert action is None
        action = Ignore(row.asks, 100)
    assert action is not None
    word = card_word(action)
    assert word is not None
    again = ActionValue.decode(ActionValue(issue_id, value.op, word).encode())
    # The clicker's own row comes back as their actor, which stands for the same action.
    assert word == (me if row.clicker else row.word)
    if row.asks is None:
        assert again.action(me=me) == action


@given(issue_ids, actors)
def test_an_assignee_round_trips_through_a_card_value(issue_id: str, actor: str) -> None:
    value = ActionValue.decode(ActionValue(issue_id, actions.OP_ASSIGN, actor).encode())
    action = value.action(me="user:1")
    assert action == Assign(actor)
    assert card_word(action) == actor


@given(issue_ids)
def test_every_row_fits_a_value_and_an_option(issue_id: str) -> None:
    for row in CHOICES:
        assert len(ActionValue.of(issue_id, row).encode()) <= actions.VALUE_MAX_LENGTH
        assert len(row.label) <= 75
        assert len(row.alone) <= 75


def test_each_verb_names_its_rows_once() -> None:
    for verb in vocabulary.VERBS:
        words = [row.word for row in vocabulary.choices(verb)]
        labels = [row.label for row in vocabulary.choices(verb)]
        assert len(set(words)) == len(words)
        assert len(set(labels)) == len(labels)


def test_a_duration_row_is_a_card_option_and_a_command_word() -> None:
    for row in vocabulary.choices("ignore"):
        if isinstance(row.action, Ignore) and row.action.mode == "duration":
            assert (row.word, row.label) in actions.options("ignore")
            assert row.command is not None
            assert ignore_from_word(row.command) == row.action


# ---- command word → action → command word -----------------------------------------------------


@pytest.mark.parametrize(
    "row", [row for row in CHOICES if row.verb == "ignore" and row.command and row.action]
)
def test_every_ignore_row_round_trips_through_its_command_word(row: Choice) -> None:
    assert row.command is not None
    action = ignore_from_word(row.command)
    assert action == row.action
    assert ignore_word(action) == row.command
    command = parse(f"ignore WEB-3F {row.command}", sentry_web_host="sentry.io", sentry_org="acme")
    assert isinstance(command, IgnoreCommand)
    assert command.condition == action


@given(
    st.one_of(
        minutes.map(lambda m: Ignore("duration", m)),
        st.builds(Ignore, st.sampled_from(["events", "users"]), counts),
    )
)
def test_every_ignore_a_command_can_say_round_trips(action: Ignore) -> None:
    word = ignore_word(action)
    assert ignore_from_word(word) == action
    assert ignore_word(ignore_from_word(word)) == word
    command = parse(f"ignore 42 {word}", sentry_web_host="sentry.io", sentry_org="acme")
    assert isinstance(command, IgnoreCommand)
    assert command.condition == action


@given(counts, st.sampled_from(["events", "users"]))
def test_count_words_round_trip(count: int, noun: str) -> None:
    word = f"{count}{noun}"
    assert ignore_word(ignore_from_word(word)) == word


@pytest.mark.parametrize("row", vocabulary.choices("resolve"))
def test_resolve_rows_round_trip_through_command_switches(row: Choice) -> None:
    assert isinstance(row.action, Resolve)
    if row.command is None and row.action != command_words.RESOLVE_DEFAULT:
        with pytest.raises(command_words.WordError):
            resolve_switches(row.action)
        return
    switches = resolve_switches(row.action)
    assert resolve_from_switches(frozenset(switches)) == row.action
    command = parse(
        " ".join(("resolve WEB-3F", *switches)), sentry_web_host="sentry.io", sentry_org="acme"
    )
    assert isinstance(command, ResolveCommand)
    assert command.resolution == row.action


# ---- action → Sentry body ---------------------------------------------------------------------


@given(triage_actions)
def test_every_action_is_a_valid_sentry_update(action: TriageAction) -> None:
    body = sentry_body(action)
    for schema in issue_update_schemas():
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]
        assert errors == []
    assert body.get("assignedTo", "") is not None  # Sentry unassigns with "", never null


@pytest.mark.parametrize(
    "body",
    [
        {"status": "archived"},
        {"status": "ignored", "substatus": "until_forever"},
        {"status": "ignored", "statusDetails": {"ignoreDuration": "2h"}},
        {"status": "resolved", "statusDetails": {"inNextRelease": "yes"}},
    ],
)
def test_the_schema_refuses_what_sentry_refuses(body: dict[str, object]) -> None:
    # The check above means something: a body Sentry would answer 400 fails it.
    single, _ = issue_update_schemas()
    assert list(jsonschema.Draft7Validator(single).iter_errors(body)) != []


@given(rows, actors)
def test_every_row_sends_a_valid_sentry_update(row: Choice, me: str) -> None:
    action = vocabulary.action_for(row.verb, row.word, me=me) or Ignore(row.asks or "events", 1)
    for schema in issue_update_schemas():
        assert list(jsonschema.Draft7Validator(schema).iter_errors(sentry_body(action))) == []
