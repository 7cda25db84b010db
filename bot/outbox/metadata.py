"""The one codec of the metadata every outbox message carries: its kind and the keys it settles.

Slack's message metadata (`{"event_type", "event_payload"}`, Slack docs: message metadata) is
read back with `conversations.history` / `conversations.replies` and `include_all_metadata`;
it is how a post whose answer was lost is recognised instead of being made twice. The event
type names the kind of message, so a storm summary read back is recorded as a summary of
every issue it lists, never as one issue's card.

Payload values may only be strings, numbers, booleans or objects (Slack's `message-metadata`
types in the Node SDK), so several keys travel as one comma-separated string. The payloads of
the first four kinds are those of earlier releases, byte for byte: cards stay in Slack for
months and are still recognised after an upgrade. A new kind is one `Kind` entry in `KINDS`;
its payload is `{"keys": "k1,k2"}` unless it names another field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

Payload = dict[str, object]
About = Mapping[str, str | int | bool]


class MetadataError(ValueError):
    """A key or kind that this codec cannot carry."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of message: its event type and the payload field that lists its keys.

    `prefix` is the part of each key the payload leaves out (the payload of a card says
    `"issue_id": "42"`, its outbox key is `issue:42`); `many` says whether one message may
    carry several keys (comma-separated)."""

    name: str
    event_type: str
    field: str = "keys"
    prefix: str = ""
    many: bool = True
    # A payload of several fields: how a key becomes them, and back (None: not one of ours).
    write: Callable[[str], Payload] | None = None
    read: Callable[[Mapping[str, object]], str | None] | None = None


def digest_key(digest_id: int, period_end: str) -> str:
    """The outbox key of one period of a digest (`period_end` as Sentry's time format)."""
    return f"digest:{digest_id}@{period_end}"


def _write_digest(key: str) -> Payload:
    digest_id, _, period_end = key.removeprefix("digest:").partition("@")
    if not digest_id.isdigit() or not period_end:
        raise MetadataError(f"{key!r} is not a digest key")
    return {"digest_id": int(digest_id), "period_end": period_end}


def _read_digest(payload: Mapping[str, object]) -> str | None:
    digest_id, period_end = payload.get("digest_id"), payload.get("period_end")
    if isinstance(digest_id, bool) or not isinstance(digest_id, int | str):
        return None
    if not isinstance(period_end, str) or not str(digest_id).isdigit():
        return None
    return digest_key(int(digest_id), period_end)


KINDS: Final = (
    Kind("card", "sentry_issue_card", field="issue_id", prefix="issue:", many=False),
    Kind("summary", "sentry_issue_summary", field="issue_ids", prefix="issue:"),
    Kind("reply", "sentry_issue_reply", field="reply_key", prefix="reply:", many=False),
    Kind("comment", "sentry_issue_comment", field="comment_key", prefix="comment:", many=False),
    Kind(
        "digest",
        "sentry_digest",
        prefix="digest:",
        many=False,
        write=_write_digest,
        read=_read_digest,
    ),
)
_BY_NAME: Final = {kind.name: kind for kind in KINDS}
_BY_EVENT: Final = {kind.event_type: kind for kind in KINDS}
EVENT_TYPES: Final = tuple(_BY_EVENT)


@dataclass(frozen=True, slots=True)
class Carried:
    """What a message read back says about itself: its kind and every key it settles."""

    kind: str
    keys: tuple[str, ...]


def encode(kind: str, keys: Sequence[str], about: About | None = None) -> Payload:
    """The metadata of a message of `kind` settling `keys`; `about` adds informational fields."""
    spec = _BY_NAME.get(kind)
    if spec is None:
        raise MetadataError(f"unknown kind of message {kind!r}")
    if not keys or (len(keys) > 1 and not spec.many):
        raise MetadataError(f"a {kind} carries {'one key' if not spec.many else 'keys'}")
    bare: list[str] = []
    for key in keys:
        if not key.startswith(spec.prefix) or "," in key or len(key) == len(spec.prefix):
            raise MetadataError(f"{key!r} is not a key a {kind} can carry")
        bare.append(key[len(spec.prefix) :])
    payload: Payload = dict(about or {})
    if spec.write is not None:
        payload.update(spec.write(keys[0]))
    else:
        payload[spec.field] = ",".join(bare)
    return {"event_type": spec.event_type, "event_payload": payload}


def decode(event_type: str, payload: Mapping[str, object]) -> Carried | None:
    """What a message of the bot's says it carries; None for anything else."""
    spec = _BY_EVENT.get(event_type)
    if spec is None:
        return None
    if spec.read is not None:
        key = spec.read(payload)
        return Carried(spec.name, (key,)) if key else None
    value = payload.get(spec.field)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    parts = str(value).split(",") if spec.many else [str(value)]
    keys = tuple(spec.prefix + part for part in parts if part)
    return Carried(spec.name, keys) if keys else None
