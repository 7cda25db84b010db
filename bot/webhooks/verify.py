"""Whether a webhook delivery comes from Sentry: its signature over the raw body, and its age.

Sentry signs each delivery with the integration's client secret: `Sentry-Hook-Signature` is
HMAC-SHA256(client secret, body) as lower-case hex, where the body is the exact bytes sent
(`sentry.utils.json.dumps`, compact separators), so the raw bytes are hashed, never a
re-serialisation (Sentry `src/sentry/sentry_apps/models/sentry_app.py` `build_signature`;
docs "Integration Platform: Webhooks", verifying the signature). `Sentry-Hook-Timestamp` is the
send time in epoch seconds; it is not signed, so the five-minute window only turns away stale
copies, and what makes a replay harmless is that every delivery is a hint read back from Sentry.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

MAX_AGE_SECONDS: Final = 300
SIGNATURE_HEADER: Final = "Sentry-Hook-Signature"
TIMESTAMP_HEADER: Final = "Sentry-Hook-Timestamp"
_MAX_TIMESTAMP_DIGITS: Final = 12


class Refused(Exception):
    """The delivery is not from Sentry (or no longer fresh); `reason` is a metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def signature(secret: bytes, body: bytes) -> str:
    """What Sentry puts in `Sentry-Hook-Signature` for this body."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(
    *,
    secret: bytes,
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    now: float,
    max_age: float = MAX_AGE_SECONDS,
) -> None:
    """Raise `Refused` unless the signature matches (compared in constant time) and the
    timestamp is within `max_age` seconds of `now`, either way."""
    if not signature_header:
        raise Refused("unsigned", f"{SIGNATURE_HEADER} is missing")
    given = signature_header.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(signature(secret, body).encode("ascii"), given):
        raise Refused("signature", f"{SIGNATURE_HEADER} does not match the body")
    raw = (timestamp_header or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_TIMESTAMP_DIGITS:
        raise Refused("timestamp", f"{TIMESTAMP_HEADER} is missing or not epoch seconds")
    if abs(now - int(raw)) > max_age:
        raise Refused("stale", f"{TIMESTAMP_HEADER} is more than {int(max_age)} seconds from now")
