"""Sentry identifiers as types that cannot hold a bad value: issue ids, short ids, slugs, versions.

Every value that becomes part of a Sentry URL path or a database key is parsed into one of these
types where it enters the process (a Slack payload, a command, a Sentry response, the routes file).
Each type is a `str` subclass whose constructor validates, so inner code can take an `IssueId` and
never re-check it: an `IssueId` is always a positive decimal that fits Sentry's BIGINT column, and
no type here can be empty, `.` or `..` (an HTTP client collapses dot segments, turning
`/issues/./` into the bulk endpoint).

Sources for the rules: issue ids are `BoundedBigAutoField` (Sentry `src/sentry/models/group.py`;
`Group ids must be integers`, issue list `group=`); slugs follow Sentry's `SentrySlugField`
(lower-case letters, digits, `-`, `_`, not only digits); release versions follow
`Release.is_valid_version` (`src/sentry/models/release.py`: at most 200 characters, none of
`\\r \\n \\f \\t / \\\\`, not `.`, `..` or `latest`); cursors are `value:offset:is_prev`
(Sentry `src/sentry/api/paginator.py`, `src/sentry/utils/cursors.py` `Cursor.from_string`).
"""

from __future__ import annotations

import re
from typing import Final

MAX_BIGINT: Final = 2**63 - 1
MAX_SLUG_LENGTH: Final = 100
MAX_SHORT_ID_LENGTH: Final = 130
MAX_VERSION_LENGTH: Final = 200
MAX_CURSOR_LENGTH: Final = 100
BAD_VERSION_CHARACTERS: Final = "\r\n\f\t/\\"
RESERVED_VERSIONS: Final = frozenset({".", "..", "latest"})

_DIGITS = re.compile(r"[1-9][0-9]{0,18}")
_SLUG = re.compile(r"(?![0-9]+$)[a-z0-9][a-z0-9_-]*")
# `PROJECT-SLUG-COUNTER` (Sentry examples: `PUMP-STATION-1`, `FRONT-END-9`), any case.
# Cursors are opaque to clients (docs.sentry.io/api/pagination/); Sentry's are
# `value:offset:is_prev` (`Cursor.from_string`), so a short run of these characters.
_CURSOR = re.compile(r"[A-Za-z0-9:._-]+")
_SHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-[A-Za-z0-9]+")


class InvalidId(ValueError):
    """Not a valid identifier of the named kind; the message never echoes the value whole."""

    def __init__(self, kind: str, value: object) -> None:
        shown = repr(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        super().__init__(f"not a valid {kind}: {shown}")
        self.kind = kind


class IssueId(str):
    """A Sentry issue (group) id: a positive decimal integer that fits a signed 64-bit column."""

    __slots__ = ()

    def __new__(cls, value: object) -> IssueId:
        if isinstance(value, bool):
            raise InvalidId("issue id", value)
        if isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = value.strip()
        else:
            raise InvalidId("issue id", value)
        if not _DIGITS.fullmatch(text) or int(text) > MAX_BIGINT:
            raise InvalidId("issue id", value)
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, value: object) -> IssueId | None:
        """The id, or None when `value` is not one (for per-item tolerance)."""
        try:
            return cls(value)
        except InvalidId:
            return None


class MemberId(str):
    """A Sentry organization member id (not the user id): a positive decimal integer."""

    __slots__ = ()

    def __new__(cls, value: object) -> MemberId:
        text = value.strip() if isinstance(value, str) else ""
        if not _DIGITS.fullmatch(text) or int(text) > MAX_BIGINT:
            raise InvalidId("member id", value)
        return super().__new__(cls, text)


class ShortId(str):
    """A qualified short id such as `BACKEND-3F`, stored upper-case as Sentry shows it."""

    __slots__ = ()

    def __new__(cls, value: object) -> ShortId:
        if not isinstance(value, str):
            raise InvalidId("short id", value)
        text = value.strip()
        if len(text) > MAX_SHORT_ID_LENGTH or not _SHORT_ID.fullmatch(text):
            raise InvalidId("short id", value)
        return super().__new__(cls, text.upper())


class Slug(str):
    """An organization, project or team slug."""

    __slots__ = ()

    def __new__(cls, value: object) -> Slug:
        if not isinstance(value, str):
            raise InvalidId("slug", value)
        text = value.strip()
        if len(text) > MAX_SLUG_LENGTH or not _SLUG.fullmatch(text):
            raise InvalidId("slug", value)
        return super().__new__(cls, text)


class ReleaseVersion(str):
    """A release version as Sentry accepts it; may hold `+`, `@` or spaces (encoded in paths)."""

    __slots__ = ()

    def __new__(cls, value: object) -> ReleaseVersion:
        if not isinstance(value, str):
            raise InvalidId("release version", value)
        text = value.strip()
        if (
            not text
            or len(text) > MAX_VERSION_LENGTH
            or text.lower() in RESERVED_VERSIONS
            or any(ch in text for ch in BAD_VERSION_CHARACTERS)
            or not text.isprintable()
        ):
            raise InvalidId("release version", value)
        return super().__new__(cls, text)


class Cursor(str):
    """A pagination cursor as Sentry sends it in `Link` (`1700000000000:100:0`): opaque, but
    short and plain, so a hostile `Link` header cannot make the bot send anything else."""

    __slots__ = ()

    def __new__(cls, value: object) -> Cursor:
        if not isinstance(value, str):
            raise InvalidId("cursor", value)
        text = value.strip()
        if len(text) > MAX_CURSOR_LENGTH or not _CURSOR.fullmatch(text):
            raise InvalidId("cursor", value)
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, value: object) -> Cursor | None:
        """The cursor, or None when `value` is not one."""
        try:
            return cls(value)
        except InvalidId:
            return None
