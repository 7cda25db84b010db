"""The `/sentry` words of the triage vocabulary: `2h`, `forever`, `100events`, `--next-release`.

Derived from `bot.triage.vocabulary.CHOICES` (a row with a `command` is a word here), read by the
command parser and shown by the help; `ignore_word` and `resolve_switches` say an action back
in the same words. Durations run from 1 minute to 30 days, counts from 1 to 1,000,000.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from bot.triage.vocabulary import (
    CHOICES,
    MAX_IGNORE_COUNT,
    MAX_IGNORE_MINUTES,
    MINUTES_PER_UNIT,
    Ignore,
    Resolve,
    choices,
)


class WordError(ValueError):
    """A command word that names no action; the message says what would."""


_DURATION = re.compile(r"([0-9]{1,7})([mhdw])")
_COUNT = re.compile(r"([0-9]{1,9})(events?|users?)")
_WORD_LIKE = re.compile(r"[0-9][0-9.,]*[a-z]+")
_IGNORE_ALIASES: Final[Mapping[str, str]] = {"until_escalating": "until-escalating"}
IGNORE_WORDS: Final[Mapping[str, Ignore]] = {
    row.command: row.action
    for row in CHOICES
    if row.verb == "ignore"
    and row.command is not None
    and isinstance(row.action, Ignore)
    and row.action.mode != "duration"
}
"""The fixed ignore words (`until-escalating`, `forever`); durations and counts have a form."""
IGNORE_DEFAULT: Final = Ignore("until_escalating")
RESOLVE_SWITCHES: Final[Mapping[str, Resolve]] = {
    row.command: row.action
    for row in CHOICES
    if row.verb == "resolve" and row.command is not None and isinstance(row.action, Resolve)
}
"""`--next-release` and any other switch of `/sentry resolve`; none means `RESOLVE_DEFAULT`."""
RESOLVE_DEFAULT: Final = Resolve("now")
COUNT_NOUNS: Final = frozenset({"event", "events", "user", "users"})
_LONGEST: Final = f"{MAX_IGNORE_MINUTES // MINUTES_PER_UNIT['d']}d"


def ignore_forms() -> str:
    """The ignore words for help and errors: `30m, 2h, 24h, 1w (up to 30d), forever, …`."""
    durations = [
        row.command
        for row in choices("ignore")
        if isinstance(row.action, Ignore) and row.action.mode == "duration" and row.command
    ]
    counts = [row.command for row in choices("ignore") if row.asks and row.command]
    return (
        f"{', '.join(durations)} (up to {_LONGEST}), {', '.join(sorted(IGNORE_WORDS))}, "
        f"{' or '.join(counts)}"
    )


def ignore_syntax() -> str:
    """The ignore words as help shows them: `until-escalating | forever | <N>m|h|d|w | …`."""
    units = "|".join(reversed(list(MINUTES_PER_UNIT)))
    counts = [row.command for row in choices("ignore") if row.asks and row.command]
    return " | ".join([*IGNORE_WORDS, f"<N>{units}", *counts])


def resolve_syntax() -> str:
    """The switches of `/sentry resolve` as help shows them: `[--next-release]`."""
    return " ".join(f"[{switch}]" for switch in RESOLVE_SWITCHES)


def looks_like_ignore_word(text: str) -> bool:
    """Whether an argument is meant as an ignore word (a malformed one included)."""
    lowered = text.lower()
    return (
        lowered in IGNORE_WORDS
        or lowered in _IGNORE_ALIASES
        or _WORD_LIKE.fullmatch(lowered) is not None
    )


def ignore_from_word(text: str) -> Ignore:
    """`2h` → 2 hours, `100events`, `forever`, `until-escalating`, …; WordError otherwise."""
    lowered = text.lower()
    lowered = _IGNORE_ALIASES.get(lowered, lowered)
    if lowered in IGNORE_WORDS:
        return IGNORE_WORDS[lowered]
    if duration := _DURATION.fullmatch(lowered):
        minutes = int(duration.group(1)) * MINUTES_PER_UNIT[duration.group(2)]
        if not 1 <= minutes <= MAX_IGNORE_MINUTES:
            raise WordError(f"is out of range: from 1m to {_LONGEST} (use forever for no end)")
        return Ignore("duration", minutes)
    if count := _COUNT.fullmatch(lowered):
        number = int(count.group(1))
        if not 1 <= number <= MAX_IGNORE_COUNT:
            raise WordError(f"is out of range: from 1 to {MAX_IGNORE_COUNT:,}")
        return Ignore("events" if count.group(2).startswith("event") else "users", number)
    raise WordError(f"is not an ignore duration: use {ignore_forms()}")


def ignore_word(action: Ignore) -> str:
    """The command word for an ignore that commands can say (no count window)."""
    for word, fixed in IGNORE_WORDS.items():
        if fixed == action:
            return word
    match action:
        case Ignore(mode="duration", amount=minutes):
            for row in choices("ignore"):
                if row.action == action and row.command:
                    return row.command
            for unit, size in MINUTES_PER_UNIT.items():
                if minutes % size == 0:
                    return f"{minutes // size}{unit}"
        case Ignore(mode="events" | "users", amount=count, window=0):
            return f"{count}{action.mode}"
    raise WordError(f"no command word for {action!r}")


def resolve_from_switches(switches: frozenset[str]) -> Resolve:
    for switch, action in RESOLVE_SWITCHES.items():
        if switch in switches:
            return action
    return RESOLVE_DEFAULT


def resolve_switches(action: Resolve) -> tuple[str, ...]:
    """The switches that say this resolution (none for "now"); WordError when commands cannot."""
    if action == RESOLVE_DEFAULT:
        return ()
    for switch, named in RESOLVE_SWITCHES.items():
        if named == action:
            return (switch,)
    raise WordError(f"no command switch for {action!r}")
