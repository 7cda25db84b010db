"""Issue card, storm summary and regression reply: golden payloads plus invariants.

Golden files under `tests/golden/` are the reviewed, expected payloads. After an intended change
to a builder, regenerate them with `UPDATE_GOLDEN=1 pytest tests/unit/test_card.py`, then read the
diff of `tests/golden/` line by line before committing: the files are the review, not the code.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.sentry.models import Assignee, Issue, ProjectRef
from bot.slack import actions
from bot.slack.actions import ActionValue, issue_id_from_block_id
from bot.slack.card import (
    STORM_LINE_MAX,
    STORM_MAX_ISSUES,
    build_issue_card,
    build_regression_reply,
    build_storm_summary,
    storm_line,
)
from bot.triage.vocabulary import LastAction
from tests.fakes.blockkit_rules import validate_blocks

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
HOSTILE = "<!channel> & <@U123> <https://evil|x>"

FIRST_SEEN = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
LAST_SEEN = datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC)


def make_issue(**changes: Any) -> Issue:
    base = Issue(
        id="4506842918",
        short_id="BACKEND-3F",
        title="TypeError: 'NoneType' object is not subscriptable",
        culprit="app.billing.invoice in render_total",
        permalink="https://acme.sentry.io/issues/4506842918/",
        level="error",
        status="unresolved",
        substatus="new",
        status_details={},
        project=ProjectRef(id="11", slug="backend", name="Backend"),
        count=1234,
        user_count=56,
        first_seen=FIRST_SEEN,
        last_seen=LAST_SEEN,
        assigned_to=None,
    )
    return replace(base, **changes)


def assert_golden(name: str, payload: dict[str, Any]) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert payload == expected


# ---- golden payloads ------------------------------------------------------------------------


def test_card_unresolved_golden() -> None:
    card = build_issue_card(make_issue(), mentions=["S0123ONCALL", "U0456ANA"])
    assert_golden("card_unresolved.json", card)


def test_card_resolved_with_last_action_golden() -> None:
    issue = make_issue(
        status="resolved",
        substatus=None,
        status_details={"inNextRelease": True, "actor": {"id": "1"}},
        assigned_to=Assignee(kind="user", id="42", name="Ana Lima", email="ana@acme.example"),
    )
    last = LastAction(
        "U0456ANA", "Resolved in next release", datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    )
    assert_golden("card_resolved_with_last_action.json", build_issue_card(issue, last_action=last))


def test_card_assigned_team_golden() -> None:
    issue = make_issue(
        title=HOSTILE,
        culprit="",
        level="warning",
        status="ignored",
        substatus="archived_until_condition_met",
        status_details={"ignoreCount": 100, "ignoreWindow": 60},
        assigned_to=Assignee(kind="team", id="7", name="payments <!here>"),
    )
    assert_golden("card_assigned_team.json", build_issue_card(issue))


def test_storm_summary_golden() -> None:
    issues = [
        make_issue(),
        make_issue(
            id="4506842919",
            short_id="WEB-1A",
            title=HOSTILE,
            permalink="https://acme.sentry.io/issues/4506842919/",
            level="fatal",
            project=ProjectRef(id="12", slug="web", name="Web"),
            count=1,
        ),
        make_issue(
            id="4506842920",
            short_id="WEB-1B",
            title="ReferenceError: x is not defined",
            permalink="javascript:alert(1)",
            level="info",
            project=ProjectRef(id="12", slug="web", name="Web"),
            count=0,
        ),
    ]
    assert_golden("storm_summary.json", build_storm_summary(issues, mentions=["S0123ONCALL"]))


def test_regression_reply_golden() -> None:
    issue = make_issue(substatus="escalating", title="Timeout & retry <exhausted>")
    assert_golden("regression_reply.json", build_regression_reply(issue))


def test_regressed_reply_wording() -> None:
    reply = build_regression_reply(make_issue(substatus="regressed"))
    assert reply["text"].startswith("Regressed: [backend] TypeError")


# ---- status words ---------------------------------------------------------------------------


def facts(card: dict[str, Any]) -> dict[str, str]:
    block = next(b for b in card["blocks"] if b["block_id"].split(":")[2] == "facts")
    return dict(field["text"][1:].split("*\n", 1) for field in block["fields"])


@pytest.mark.parametrize(
    ("status", "substatus", "details", "words"),
    [
        ("unresolved", "regressed", {}, "Regressed"),
        ("unresolved", "escalating", {}, "Escalating"),
        ("unresolved", "ongoing", {}, "Ongoing"),
        ("unresolved", None, {}, "Unresolved"),
        ("resolved", None, {}, "Resolved"),
        ("resolvedInNextRelease", None, {}, "Resolved in next release"),
        ("resolved", None, {"inRelease": "2.0 <b>"}, "Resolved in release 2.0 &lt;b&gt;"),
        ("resolved", None, {"inCommit": {"id": "abc"}}, "Resolved in a commit"),
        ("resolved", None, {"autoResolved": True}, "Resolved automatically"),
        ("ignored", "archived_until_escalating", {}, "Ignored until escalating"),
        ("ignored", None, {"ignoreUntilEscalating": True}, "Ignored until escalating"),
        ("ignored", "archived_forever", {}, "Ignored forever"),
        ("muted", None, {}, "Ignored"),
        ("ignored", None, {"ignoreDuration": 120}, "Ignored for 2 hours"),
        ("ignored", None, {"ignoreDuration": 30}, "Ignored for 30 minutes"),
        ("ignored", None, {"ignoreDuration": 1440}, "Ignored for 24 hours"),
        ("ignored", None, {"ignoreDuration": 10080}, "Ignored for 1 week"),
        ("ignored", None, {"ignoreCount": 1}, "Ignored until 1 more event"),
        (
            "ignored",
            None,
            {"ignoreUserCount": 10, "ignoreUserWindow": 1440},
            ("Ignored until 10 more users within 24 hours"),
        ),
        (
            "ignored",
            "archived_until_condition_met",
            {"ignoreUntil": "2026-11-04T10:00:00Z"},
            "Ignored until <!date^1793786400^{date_short_pretty} at {time}|2026-11-04 10:00 UTC>",
        ),
        ("ignored", None, {"ignoreCount": "many", "ignoreDuration": -5}, "Ignored"),
        ("reprocessing", None, {}, "Reprocessing"),
    ],
)
def test_status_in_words(
    status: str, substatus: str | None, details: dict[str, Any], words: str
) -> None:
    card = build_issue_card(make_issue(status=status, substatus=substatus, status_details=details))
    assert facts(card)["Status"] == words


def test_fallback_text_omits_an_empty_culprit() -> None:
    assert build_issue_card(make_issue(culprit=" "))["text"] == (
        "[backend] TypeError: 'NoneType' object is not subscriptable"
    )


def test_resolved_and_ignored_cards_offer_unresolve_instead_of_resolve_and_ignore() -> None:
    for status in ["resolved", "resolvedInNextRelease", "ignored", "muted"]:
        card = build_issue_card(make_issue(status=status))
        assert action_ids(card) == [
            actions.ISSUE_UNRESOLVE,
            actions.ISSUE_ASSIGN,
            actions.ISSUE_OPEN,
        ]
    assert action_ids(build_issue_card(make_issue())) == [
        actions.ISSUE_RESOLVE,
        actions.ISSUE_IGNORE,
        actions.ISSUE_ASSIGN,
        actions.ISSUE_OPEN,
    ]


def test_open_button_is_dropped_for_a_non_web_permalink() -> None:
    card = build_issue_card(make_issue(permalink="javascript:alert(1)"))
    assert actions.ISSUE_OPEN not in action_ids(card)


def test_block_ids_change_with_the_rendered_state_only() -> None:
    issue = make_issue()
    first = build_issue_card(issue)
    assert block_ids(build_issue_card(issue)) == block_ids(first)
    for changed in [
        build_issue_card(replace(issue, status="resolved")),
        build_issue_card(replace(issue, count=issue.count + 1)),
        build_issue_card(issue, last_action=LastAction("U1AB", "Ignored for 2 hours", LAST_SEEN)),
    ]:
        assert not set(block_ids(changed)) & set(block_ids(first))


def test_malformed_mention_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="not a Slack"):
        build_issue_card(make_issue(), mentions=["<!channel>"])
    with pytest.raises(ValueError, match="not a Slack user ID"):
        build_issue_card(make_issue(), last_action=LastAction("here", "Resolved", LAST_SEEN))


def test_a_storm_summary_lists_one_to_thirty_issues() -> None:
    issues = [make_issue(id=str(n)) for n in range(1, 32)]
    assert build_storm_summary(issues[:STORM_MAX_ISSUES])["text"].startswith("30 new")
    with pytest.raises(ValueError, match="1 to 30"):
        build_storm_summary(issues)
    with pytest.raises(ValueError, match="1 to 30"):
        build_storm_summary([])


def test_storm_fallback_names_count_and_projects() -> None:
    issues = [make_issue(), make_issue(project=ProjectRef(id="12", slug="web", name="Web"))]
    assert build_storm_summary(issues)["text"] == "2 new Sentry issues in backend, web"
    assert build_storm_summary(issues[:1])["text"] == "1 new Sentry issue in backend"


# ---- invariants over generated issues -------------------------------------------------------

TITLES = [
    HOSTILE,
    "<!here|here> <!everyone> <#C0123|general> <mailto:a@b.c|mail> &amp; &lt;",
    "x" * 10_000,
    "&" * 5000,
    "<" * 3000 + ">" * 3000,
    "💥 Ошибка: 数据库 超时 — مرحبا \u202e evil \u200b zero-width e\u0301",
    "",
    "   \n\t ",
    "line one\nline two\r\n*bold* _it_ ~s~ `code` > quote",
    "\x00\x07\x1b[31mred\x7f",
]
CULPRITS = ["", "app.views in handler", HOSTILE, "c" * 5000, "\n"]
PERMALINKS = [
    "https://acme.sentry.io/issues/1/",
    "https://evil|<!channel>/x y?a=1&b=<2>",
    "javascript:alert(1)",
    "",
    "https://sentry.example/" + "p" * 5000,
    "http://localhost:9000/organizations/acme/issues/1/",
]
LEVELS = ["fatal", "error", "warning", "info", "debug", "sample", "", "<!channel>", "x" * 500]
STATUSES = [
    ("unresolved", None, {}),
    ("unresolved", "regressed", {}),
    ("unresolved", "escalating", {}),
    ("resolved", None, {"inRelease": HOSTILE * 20}),
    ("resolvedInNextRelease", None, {"inNextRelease": True}),
    ("ignored", "archived_until_condition_met", {"ignoreCount": 10**12, "ignoreWindow": 7}),
    ("ignored", None, {"ignoreUntil": "not a date", "ignoreUserCount": "3"}),
    ("muted", "archived_forever", {"ignoreDuration": None}),
    (HOSTILE, HOSTILE, {HOSTILE: HOSTILE}),
    ("", None, {}),
]
ASSIGNEES: list[Assignee | None] = [
    None,
    Assignee(kind="user", id="42", name="Ana"),
    Assignee(kind="user", id="43", name="", email="<!channel>@x.io"),
    Assignee(kind="team", id="7", name=HOSTILE * 40),
    Assignee(kind="user", id="9" * 60, name="too long to carry"),
    Assignee(kind="team", id="8", name=""),
]
PROJECTS = [
    ProjectRef(id="1", slug="backend", name="Backend"),
    ProjectRef(id="2", slug="", name=""),
    ProjectRef(id="3", slug=HOSTILE, name=HOSTILE),
    ProjectRef(id="4", slug="p" * 1000, name="long"),
]
SHORT_IDS = ["BACKEND-1", "", HOSTILE, "S" * 300]
MENTIONS: list[Sequence[str]] = [(), ("S0123ONCALL",), ("U0123ABC", "W0999XYZ", "S0777OPS")]


def generated_issues(count: int = 400) -> Iterator[Issue]:
    rng = random.Random(20261126)
    for n in range(count):
        status, substatus, details = rng.choice(STATUSES)
        yield make_issue(
            id=str(rng.choice([1, 10**18, 4506842918 + n])),
            short_id=rng.choice(SHORT_IDS),
            title=TITLES[n % len(TITLES)],
            culprit=rng.choice(CULPRITS),
            permalink=rng.choice(PERMALINKS),
            level=rng.choice(LEVELS),
            status=status,
            substatus=substatus,
            status_details=details,
            project=rng.choice(PROJECTS),
            count=rng.choice([0, 1, 10**15]),
            user_count=rng.choice([0, 1, 2**31]),
            first_seen=rng.choice([datetime.fromtimestamp(0, UTC), FIRST_SEEN]),
            last_seen=rng.choice([LAST_SEEN, datetime(2100, 1, 1, tzinfo=UTC)]),
            assigned_to=rng.choice(ASSIGNEES),
        )


def walk(node: object, key: str = "") -> Iterator[tuple[str, object, dict[str, Any] | None]]:
    """Every (key, value, enclosing object) in a payload."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield child_key, child, node
            yield from walk(child, child_key)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child, key)


def action_ids(payload: dict[str, Any]) -> list[str]:
    return [str(value) for key, value, _ in walk(payload["blocks"]) if key == "action_id"]


def block_ids(payload: dict[str, Any]) -> list[str]:
    return [block["block_id"] for block in payload["blocks"]]


def mrkdwn_strings(payload: dict[str, Any]) -> Iterator[str]:
    """The top-level fallback and every mrkdwn text object (what Slack parses for `<…>`)."""
    yield payload["text"]
    for key, value, owner in walk(payload["blocks"]):
        if key == "text" and isinstance(value, str) and owner and owner.get("type") == "mrkdwn":
            yield value


DATE_TOKEN = r"<!date\^-?\d+\^\{date_short_pretty\} at \{time\}\|[0-9-]+ [0-9:]+ UTC>"
LINK = r"<https?://[^\s|<>]+\|[^<>]+>"


def bot_sequences(mentions: Sequence[str], actor: str | None) -> re.Pattern[str]:
    """The only `<…>` sequences the bot itself writes: its mentions, dates and links."""
    own = [re.escape(f"<@{m}>") for m in mentions if m[0] in "UW"]
    own += [re.escape(f"<!subteam^{m}>") for m in mentions if m[0] == "S"]
    if actor:
        own.append(re.escape(f"<@{actor}>"))
    return re.compile("|".join([DATE_TOKEN, LINK, *own]))


def assert_invariants(
    payload: dict[str, Any],
    *,
    issue_ids: set[str],
    mentions: Sequence[str] = (),
    actor: str | None = None,
    max_blocks: int = 50,
) -> None:
    blocks = payload["blocks"]
    assert isinstance(payload["text"], str)
    assert payload["text"]
    assert len(blocks) <= max_blocks
    # (a) the SDK's own validators accept every block, and the model loses nothing.
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        assert parsed.to_dict() == block
    # (b) the limits the SDK does not check, as Slack enforces them.
    assert validate_blocks(blocks, surface="message") == []
    # (c) no control sequence but the bot's own: everything from Sentry is escaped.
    allowed = bot_sequences(mentions, actor)
    for text in mrkdwn_strings(payload):
        leftover = allowed.sub("", text)
        assert "<" not in leftover, text[:300]
        assert ">" not in leftover, text[:300]
        assert not re.search(r"&(?!amp;|lt;|gt;)", leftover), text[:300]
    for key, value, owner in walk(blocks):
        if key == "text" and owner and owner.get("type") == "plain_text":
            assert isinstance(value, str)
            assert "<" not in value
    # (d) only known action_ids; every value decodes to this issue; block_ids unique.
    assert set(action_ids(payload)) <= actions.ACTION_IDS
    for key, value, _ in walk(blocks):
        if key == "value":
            assert isinstance(value, str)
            assert len(value) <= actions.VALUE_MAX_LENGTH
            assert ActionValue.decode(value).issue_id in issue_ids
    assert len(set(block_ids(payload))) == len(blocks)


@pytest.mark.parametrize("chunk", range(8))
def test_card_invariants_over_generated_issues(chunk: int) -> None:
    issues = list(generated_issues())[chunk * 50 : (chunk + 1) * 50]
    for n, issue in enumerate(issues):
        mentions = MENTIONS[n % len(MENTIONS)]
        last = LastAction("U0456ANA", HOSTILE * (n % 3) or "Resolved", LAST_SEEN) if n % 2 else None
        card = build_issue_card(issue, last_action=last, mentions=mentions)
        assert_invariants(
            card,
            issue_ids={issue.id},
            mentions=mentions,
            actor=last.slack_user_id if last else None,
        )
        assert {issue_id_from_block_id(b) for b in block_ids(card)} == {issue.id}
        assert card["text"].startswith("[")
        assert_invariants(build_regression_reply(issue), issue_ids={issue.id})


def test_storm_invariants_over_generated_issues() -> None:
    issues = list(generated_issues())
    for size, mentions in itertools.product([1, 7, STORM_MAX_ISSUES], MENTIONS):
        for chunk in (issues[i : i + size] for i in range(0, len(issues), size)):
            summary = build_storm_summary(chunk, mentions=mentions)
            assert_invariants(summary, issue_ids=set(), mentions=mentions, max_blocks=13)
    for issue in issues:
        assert len(storm_line(issue)) <= STORM_LINE_MAX


def test_storm_of_worst_case_issues_stays_within_limits() -> None:
    worst = make_issue(
        title="&" * 10_000,
        short_id="&" * 300,
        level="information_source",
        permalink="https://s.io/" + "p" * 780,
        project=ProjectRef(id="1", slug="<" * 500, name=""),
        count=10**18,
    )
    line = storm_line(worst)
    assert len(line) <= STORM_LINE_MAX
    summary = build_storm_summary([worst] * STORM_MAX_ISSUES, mentions=MENTIONS[2])
    assert_invariants(summary, issue_ids=set(), mentions=MENTIONS[2], max_blocks=13)
    assert sum(len(json.dumps(block)) for block in summary["blocks"]) < 40_000
