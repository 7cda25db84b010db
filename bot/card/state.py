"""What a card is: its outbox key, the revision of what it shows, and its last triage action.

Pure values, no I/O: the Block Kit builder (`bot/slack/card.py`) draws a card from an `Issue`
and a `LastAction`; the ledger (`bot/card/store.py`) stores the revision and the action.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from bot.sentry.models import Issue, IssueState, parse_time
from bot.triage.vocabulary import LastAction

# Who owes a card in the outbox, and the kinds of message that can carry one.
PRODUCER: Final = "card"
CARD: Final = "card"
SUMMARY: Final = "summary"
COMEBACK: Final = ("regressed", "escalating")


def card_key(issue_id: str) -> str:
    """The card's outbox key: one per (channel, issue), carried by a card or a storm summary."""
    return f"issue:{issue_id}"


def reply_key(card_id: int, seq: int) -> str:
    """The outbox key of the `seq`-th reply in a card's thread."""
    return f"reply:{card_id}.{seq}"


def revision(issue: Issue | IssueState) -> str:
    """What the card shows that can change: a change means the card must be redrawn."""
    assignee = issue.assigned_to.actor_id if issue.assigned_to else ""
    state = f"{issue.status}|{issue.substatus or ''}|{assignee}"
    # The ledger's `rendered` column holds 64 characters; an odd status is digested instead.
    return state if len(state) <= 64 else hashlib.sha256(state.encode()).hexdigest()


def comeback(shown_status: str | None, shown_substatus: str | None, issue: Issue) -> str | None:
    """'regressed' or 'escalating' when the issue has just come back, else None."""
    if issue.status != "unresolved" or issue.substatus not in COMEBACK:
        return None
    if shown_status == issue.status and shown_substatus == issue.substatus:
        return None
    return issue.substatus


def encode_last_action(action: LastAction) -> str:
    return json.dumps(
        {"user": action.slack_user_id, "verb": action.verb, "at": action.at.isoformat()}
    )


def decode_last_action(text: str | None) -> LastAction | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        at = parse_time(data["at"])
        if at is None:
            return None
        return LastAction(slack_user_id=str(data["user"]), verb=str(data["verb"]), at=at)
    except (ValueError, KeyError, TypeError):
        return None
