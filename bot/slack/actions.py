"""The card's interaction contract: stable action_ids, the versioned option/button value, block_ids.

Cards stay in Slack for months, so everything here is a compatibility promise: an action_id is
never renamed, and a value written by an old card must decode (or fail with `ActionValueError`)
after any upgrade. Changing the value layout means a new version number, with the old decoder kept.

Value format, version 1: `1|<issue_id>|<op>|<arg>`, at most 75 characters. Slack accepts option
values up to 150 and button values up to 2000 (Slack docs: Block Kit reference, button and option
objects), but older Slack docs and the Node SDK still say 75 for options, so 75 is the
conservative bound for every value.

Cards only ever wrote Sentry's numeric issue ids into values and block_ids, so everything an old
card holds still decodes; what comes out is an `IssueId`, so a value or block_id naming `.`, `..`,
nothing or a 40-digit issue never gets past the decoder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.sentry.ids import InvalidId, IssueId
from bot.triage import vocabulary
from bot.triage.vocabulary import Choice, TriageAction, Verb

ISSUE_RESOLVE: Final = "issue.resolve"
ISSUE_IGNORE: Final = "issue.ignore"
ISSUE_ASSIGN: Final = "issue.assign"
ISSUE_UNRESOLVE: Final = "issue.unresolve"
ISSUE_OPEN: Final = "issue.open"
# The overflow menu on each issue line of a digest (resolve, ignore 24 h, assign to me, unresolve);
# its option values are `ActionValue`s like the card's.
DIGEST_TRIAGE: Final = "digest.triage"

ACTION_IDS: Final = frozenset(
    {ISSUE_RESOLVE, ISSUE_IGNORE, ISSUE_ASSIGN, ISSUE_UNRESOLVE, ISSUE_OPEN}
)

# A value's `op` is a verb of the triage vocabulary, or `open` for the link button; its `arg` is
# the word of one of the vocabulary's rows (`2h`, `next_release`, `me`) or, for `assign`, a
# Sentry actor. Both come from `bot.triage.vocabulary`, so a new row is a new value here.
OP_RESOLVE: Final[Verb] = "resolve"
OP_IGNORE: Final[Verb] = "ignore"
OP_ASSIGN: Final[Verb] = "assign"
OP_UNRESOLVE: Final[Verb] = "unresolve"
OP_OPEN: Final = "open"

RESOLVE_ARGS: Final = tuple(row.word for row in vocabulary.choices("resolve"))
IGNORE_ARGS: Final = tuple(row.word for row in vocabulary.choices("ignore"))

VALUE_VERSION: Final = "1"
VALUE_MAX_LENGTH: Final = 75
BLOCK_ID_MAX_LENGTH: Final = 255  # Slack docs: Block Kit blocks, block_id is at most 255 characters

_SEPARATOR = "|"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ACTOR = re.compile(r"(user|team):[A-Za-z0-9_-]{1,40}")


class ActionValueError(ValueError):
    """A value that this version of the app did not write: unknown version, op or shape."""


def _valid_arg(op: str, arg: str) -> bool:
    if op == OP_OPEN:
        return arg == ""
    if vocabulary.choice(op, arg) is not None:
        return True
    return op == OP_ASSIGN and _ACTOR.fullmatch(arg) is not None


def options(verb: Verb) -> tuple[tuple[str, str], ...]:
    """`(arg, label)` of each option of a verb's menu, in the vocabulary's order."""
    return tuple((row.word, row.label) for row in vocabulary.choices(verb))


def standalone_options(*rows: tuple[str, str]) -> tuple[tuple[str, str, str], ...]:
    """`(label, op, arg)` of chosen rows for a menu that mixes verbs (a digest line's), each
    labelled as it reads on its own ("Ignore for 24 hours"); KeyError for a row that is none."""
    options: list[tuple[str, str, str]] = []
    for verb, word in rows:
        row = vocabulary.choice(verb, word)
        if row is None:
            raise KeyError(f"no triage choice {verb!r} {word!r}")
        options.append((row.alone, row.verb, row.word))
    return tuple(options)


@dataclass(frozen=True, slots=True, init=False)
class ActionValue:
    """What one control does to one issue: `op` (resolve, ignore, …) with its `arg` (`2h`, …).

    Construction validates, so an `ActionValue` in hand always encodes and its `issue_id` is an
    `IssueId` (a `str` given is parsed into one); `arg` for assignment is `me`, `none`, or a
    Sentry actor `user:<id>` / `team:<id>` as `assignedTo` takes it.
    """

    issue_id: IssueId
    op: str
    arg: str

    def __init__(self, issue_id: str, op: str, arg: str = "") -> None:
        object.__setattr__(self, "issue_id", _issue_id(issue_id))
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "arg", arg)
        if not _valid_arg(self.op, self.arg):
            raise ActionValueError(f"invalid op/arg: {self.op!r} {self.arg!r}")
        if len(self.encode()) > VALUE_MAX_LENGTH:
            raise ActionValueError(f"value longer than {VALUE_MAX_LENGTH} characters")

    @classmethod
    def of(cls, issue_id: str, choice: Choice) -> ActionValue:
        """The value of a control offering one row of the triage vocabulary."""
        return cls(issue_id, choice.verb, choice.word)

    @property
    def choice(self) -> Choice | None:
        """The vocabulary row the value names; None for `open` and for an assignee's actor."""
        return vocabulary.choice(self.op, self.arg)

    def action(self, *, me: str) -> TriageAction | None:
        """The triage action the control stands for, `me` being the chooser's Sentry actor;
        None when a count is asked first. ValueError for `open`, which only links to Sentry."""
        return vocabulary.action_for(self.op, self.arg, me=me)

    def encode(self) -> str:
        """The compact string put in an option's or button's `value`."""
        return _SEPARATOR.join((VALUE_VERSION, self.issue_id, self.op, self.arg))

    @classmethod
    def decode(cls, value: object) -> ActionValue:
        """Parse a value from a `block_actions` payload; anything foreign is `ActionValueError`."""
        if not isinstance(value, str) or len(value) > VALUE_MAX_LENGTH:
            raise ActionValueError("not an action value")
        parts = value.split(_SEPARATOR)
        if parts[0] != VALUE_VERSION:
            raise ActionValueError(f"unknown action value version: {parts[0][:10]!r}")
        if len(parts) != 4:
            raise ActionValueError("malformed action value")
        _, issue_id, op, arg = parts
        return cls(issue_id=issue_id, op=op, arg=arg)


def _issue_id(value: object) -> IssueId:
    """The value as an `IssueId`, or `ActionValueError` (whitespace is not tolerated here)."""
    if not isinstance(value, str) or value != value.strip():
        raise ActionValueError("invalid issue id")
    try:
        return IssueId(value)
    except InvalidId as exc:
        raise ActionValueError(str(exc)) from None


def block_id(issue_id: str, part: str, revision: str) -> str:
    """`issue:<id>:<part>:<revision>`, unique in a card and new for each rendered state.

    Slack asks for a new block_id whenever a message is updated (Slack docs: chat.update), and a
    `block_suggestion` payload may carry only the block_id, not the message (Slack docs:
    block_suggestion payload), so the issue id travels in it; see `issue_id_from_block_id`.
    """
    _issue_id(issue_id)
    for token in (part, revision):
        if not _TOKEN.fullmatch(token):
            raise ActionValueError(f"invalid block_id component: {token!r}")
    return f"issue:{issue_id}:{part}:{revision}"


def issue_id_from_block_id(value: object) -> IssueId:
    """The issue id in a block_id written by `block_id`; `ActionValueError` for anything else."""
    if not isinstance(value, str) or len(value) > BLOCK_ID_MAX_LENGTH:
        raise ActionValueError("not a card block_id")
    parts = value.split(":")
    if len(parts) != 4 or parts[0] != "issue":
        raise ActionValueError("not a card block_id")
    return _issue_id(parts[1])
