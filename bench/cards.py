"""What the triage and reliability benchmarks share: reading cards off the fake Slack,
clicking them like Slack does (signed `block_actions` over HTTP), and reading a
process's memory, file descriptors and TCP connections from /proc.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ORG
from bot.sentry.models import Issue
from bot.slack.card import IGNORED_STATUSES, RESOLVED_STATUSES, status_words
from tests.e2e.harness import TOKENS
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_requests import (
    BotReply,
    action_for,
    block_actions,
    interactive_body,
    post_to_bot,
    sign,
)
from tests.fakes.slack_server import FakeSlack, Message

CARD_EVENT = "sentry_issue_card"
SUMMARY_EVENT = "sentry_issue_summary"
CLICKER = "U0BENCH001"
CLICKER_EMAIL = "triager@example.com"


def add_clicker(sentry: FakeSentry, slack: FakeSlack) -> None:
    """A Slack user who is a Sentry member, so their clicks are allowed."""
    slack.add_user(CLICKER, CLICKER_EMAIL, "triager")
    sentry.add_member(CLICKER_EMAIL, name="Tri Ager", role="member")


def issue_cards(slack: FakeSlack, channel: str | None = None) -> dict[str, list[Message]]:
    """Top-level cards by issue id (a list, so duplicates show)."""
    found: dict[str, list[Message]] = {}
    for message in slack.messages(channel):
        meta = message.metadata or {}
        if meta.get("event_type") == CARD_EVENT and not message.is_reply:
            found.setdefault(str(meta["event_payload"]["issue_id"]), []).append(message)
    return found


def referenced(slack: FakeSlack, channel: str | None = None) -> Counter[str]:
    """How many top-level messages (cards and storm summaries) reference each issue id."""
    counts: Counter[str] = Counter()
    for message in slack.messages(channel):
        meta = message.metadata or {}
        payload = meta.get("event_payload") or {}
        if message.is_reply:
            continue
        if meta.get("event_type") == CARD_EVENT:
            counts[str(payload["issue_id"])] += 1
        elif meta.get("event_type") == SUMMARY_EVENT:
            counts.update(str(payload["issue_ids"]).split(","))
    return counts


def poll_until(predicate: Callable[[], bool], timeout: float, every: float = 0.05) -> None:
    """Re-check `predicate` every `every` seconds, outside the fakes' locks.

    The fakes' own `wait_for` runs its predicate under their lock after every request,
    which would hold up the bot's calls while a costly predicate (copying every message)
    runs; this waits without delaying the fakes.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(every)


def status_field(blocks: list[dict[str, Any]] | None) -> str | None:
    """The text under "*Status*" in a card's facts block."""
    for block in blocks or []:
        for field in block.get("fields", []):
            text = str(field.get("text", ""))
            if text.startswith("*Status*\n"):
                return text.split("\n", 1)[1]
    return None


def action_ids(blocks: list[dict[str, Any]] | None) -> set[str]:
    return {
        str(element.get("action_id"))
        for block in blocks or []
        for element in block.get("elements", [])
        if isinstance(element, dict) and element.get("action_id")
    }


def card_matches_sentry(card: Message, issue_json: dict[str, Any]) -> bool:
    """The card's status line and controls are what the issue's current state renders to."""
    issue = Issue.from_api(issue_json, web_base="http://sentry.invalid", org=ORG)
    settled = issue.status in RESOLVED_STATUSES or issue.status in IGNORED_STATUSES
    controls = action_ids(card.blocks)
    expected_controls = (
        "issue.unresolve" in controls and "issue.resolve" not in controls
        if settled
        else "issue.resolve" in controls and "issue.unresolve" not in controls
    )
    return status_field(card.blocks) == status_words(issue) and expected_controls


def option_value(blocks: list[dict[str, Any]] | None, action_id: str, label: str) -> str:
    """The value of a select's option (by label) or of a button (any label)."""
    for block in blocks or []:
        for element in block.get("elements", []):
            if element.get("action_id") != action_id:
                continue
            if element.get("type") == "button":
                return str(element["value"])
            for option in element.get("options", []):
                if option["text"]["text"] == label:
                    return str(option["value"])
    raise KeyError(f"{action_id}: {label}")


@dataclass(frozen=True)
class Click:
    """A signed click, built ahead of time so sending it costs only the HTTP request."""

    url: str
    body: str
    channel: str
    message_ts: str

    def signed_headers(self) -> dict[str, str]:
        return sign(self.body, TOKENS["SLACK_SIGNING_SECRET"], int(time.time()))

    def send(self, *, timeout: float = 10.0) -> BotReply:
        return post_to_bot(self.url, self.body, self.signed_headers(), timeout=timeout)


def build_click(
    bot_url: str,
    slack: FakeSlack,
    card: Message,
    action_id: str,
    label: str = "",
    *,
    user: str = CLICKER,
) -> Click:
    """What Slack sends when `user` picks `label` in the card's `action_id` control."""
    value = option_value(card.blocks, action_id, label)
    action = action_for(card.blocks or [], action_id, value=value, action_ts=f"{time.time():.6f}")
    response_url = slack.new_response_url(channel=card.channel, message_ts=card.ts)
    payload = block_actions(user, "T111", card.channel, card.as_slack(), action, response_url)
    return Click(f"{bot_url}/slack/events", interactive_body(payload), card.channel, card.ts)


def resolve_click(bot_url: str, slack: FakeSlack, card: Message) -> Click:
    """ "Resolve now" on an open card, "Unresolve" on a settled one."""
    if "issue.unresolve" in action_ids(card.blocks):
        return build_click(bot_url, slack, card, "issue.unresolve")
    return build_click(bot_url, slack, card, "issue.resolve", "Resolve now")


def shown_at(message: Message, predicate: Any, since: float) -> float | None:
    """When a version of the message satisfying `predicate(blocks_json)` first appeared
    at or after `since` (epoch seconds); a version appears when the previous one is
    replaced (`Edit.replaced_at`)."""
    versions = [e.blocks for e in message.edits[1:]] + [message.blocks]
    for edit, blocks in zip(message.edits, versions, strict=True):
        if edit.replaced_at >= since and predicate(json.dumps(blocks)):
            return edit.replaced_at
    return None


# ---- /proc --------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/<pid>/status")


@dataclass(frozen=True)
class Descriptors:
    fds: int
    sockets: int
    tcp: Counter[str]
    """The process's TCP sockets by state (ESTABLISHED, LISTEN, TIME_WAIT …)."""

    @property
    def tcp_total(self) -> int:
        return sum(self.tcp.values())


TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def descriptors(pid: int) -> Descriptors:
    """Open fds of the process, its sockets, and those of them that are TCP (by state)."""
    inodes: set[str] = set()
    fds = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        fds += 1
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    tcp: Counter[str] = Counter()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                tcp[TCP_STATES.get(fields[3], fields[3])] += 1
    return Descriptors(fds=fds, sockets=len(inodes), tcp=tcp)


def describe_tcp(states: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(states)) or "none"
