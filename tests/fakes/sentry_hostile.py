"""Hostile issue JSON for the fake Sentry: one raw text per class of bad data a real Sentry holds.

Each text is a complete issue object of the issue list (`stream_issue_json`) with one thing wrong,
served with `FakeSentry.serve_raw_issue`. Texts are built by hand where `json.dumps` could not
(10,000-deep nesting, a 5,000-digit integer).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.fakes.sentry_state import JSON, SentryOrgState

DEEP = 10_000
HUGE_DIGITS = 5_000
_PLACEHOLDER = "__HOSTILE_VALUE__"

HOSTILE_CLASSES = (
    "far_future_date",
    "lone_surrogates",
    "deep_metadata",
    "huge_int",
    "non_numeric_id",
    "foreign_permalink",
)


def issue_template(
    *, org: str, web_url: str, project: str, issue_id: int, title: str = "Hostile issue"
) -> JSON:
    """A well-formed issue-list object for `project`, as the fake would serve it."""
    state = SentryOrgState(org=org)
    state.web_url = web_url
    state.create_project(project)
    created = state.create_issue(project, title, first_seen=datetime.now(UTC))
    record = state._issue(created["id"])  # a throwaway state of this package
    body = state.stream_issue_json(record)
    body["id"] = str(issue_id)
    body["shortId"] = f"{project.upper()}-{issue_id}"
    body["permalink"] = f"{web_url}/organizations/{org}/issues/{issue_id}/"
    return body


def hostile_issue(kind: str, template: JSON) -> str:
    """The raw JSON text of `template` spoiled the way `kind` names."""
    body = dict(template)
    raw: str | None = None
    if kind == "far_future_date":
        body["firstSeen"] = body["lastSeen"] = "9999-12-31T23:59:59-14:00"
    elif kind == "lone_surrogates":
        body["title"] = "Broken \ud800 title \udfff end"
        body["culprit"] = "\udc00"
    elif kind == "deep_metadata":
        body["metadata"] = _PLACEHOLDER
        raw = '{"a": ' * DEEP + "1" + "}" * DEEP
    elif kind == "huge_int":
        body["userCount"] = _PLACEHOLDER
        raw = "9" * HUGE_DIGITS
    elif kind == "non_numeric_id":
        body["id"] = "../" + str(body["id"])
    elif kind == "foreign_permalink":
        body["permalink"] = "https://evil.example/phish?issue=" + str(body["id"])
    else:
        raise ValueError(f"unknown hostile class {kind!r}")
    text = json.dumps(body)  # ensure_ascii: lone surrogates become \ud800 escapes
    if raw is not None:
        text = text.replace(json.dumps(_PLACEHOLDER), raw)
    return text
