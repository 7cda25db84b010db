"""The webhook verifier: Sentry's own signature verifies, any tampering with the body, the
signature or the timestamp is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.webhooks.verify import MAX_AGE_SECONDS, Refused, signature, verify

# Source: `webhook-signature-example.json` (compact body, fake client secret, its signature).
EXAMPLE = json.loads(
    (
        Path(__file__).parents[1] / "contract" / "sentry" / "webhook-signature-example.json"
    ).read_text()
)
SECRET = EXAMPLE["client_secret"].encode()
BODY = EXAMPLE["raw_body"].encode()
SENT_AT = int(EXAMPLE["headers"]["Sentry-Hook-Timestamp"])
SIGNED = EXAMPLE["headers"]["Sentry-Hook-Signature"]


def check(
    body: bytes = BODY,
    sig: str | None = SIGNED,
    stamp: str | None = str(SENT_AT),
    now: float = SENT_AT + 1,
    secret: bytes = SECRET,
) -> None:
    verify(secret=secret, body=body, signature_header=sig, timestamp_header=stamp, now=now)


def test_sentrys_example_delivery_verifies() -> None:
    check()
    assert signature(SECRET, BODY) == SIGNED


def test_the_pretty_printed_body_does_not_verify() -> None:
    """Hashing a re-serialisation would not reproduce Sentry's bytes."""
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    assert signature(SECRET, pretty) == EXAMPLE["pretty_body_signature_would_be"]
    with pytest.raises(Refused) as refused:
        check(body=pretty)
    assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    ("sig", "stamp", "now", "reason"),
    [
        (None, str(SENT_AT), SENT_AT, "unsigned"),
        ("", str(SENT_AT), SENT_AT, "unsigned"),
        (SIGNED.upper(), str(SENT_AT), SENT_AT, "signature"),
        (SIGNED[:-1], str(SENT_AT), SENT_AT, "signature"),
        (SIGNED + " ", str(SENT_AT), SENT_AT, "signature"),
        ("ü" * 64, str(SENT_AT), SENT_AT, "signature"),
        (SIGNED, None, SENT_AT, "timestamp"),
        (SIGNED, "", SENT_AT, "timestamp"),
        (SIGNED, "1724000000.5", SENT_AT, "timestamp"),
        (SIGNED, "-1724000000", SENT_AT, "timestamp"),
        (SIGNED, "9" * 40, SENT_AT, "timestamp"),
        (SIGNED, str(SENT_AT), SENT_AT + MAX_AGE_SECONDS + 1, "stale"),
        (SIGNED, str(SENT_AT), SENT_AT - MAX_AGE_SECONDS - 1, "stale"),
    ],
)
def test_each_kind_of_bad_delivery_is_refused_with_its_reason(
    sig: str | None, stamp: str | None, now: float, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        check(sig=sig, stamp=stamp, now=now)
    assert refused.value.reason == reason


def test_the_edges_of_the_window_are_accepted() -> None:
    check(now=SENT_AT + MAX_AGE_SECONDS)
    check(now=SENT_AT - MAX_AGE_SECONDS)


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=len(BODY) - 1))
def test_any_change_to_the_body_is_refused(insert: bytes, at: int) -> None:
    for tampered in (BODY[:at] + insert + BODY[at + 1 :], BODY[:at] + insert + BODY[at:]):
        assume(tampered != BODY)
        with pytest.raises(Refused):
            check(body=tampered)


@given(st.text(max_size=80))
def test_any_other_signature_is_refused(sig: str) -> None:
    assume(sig != SIGNED)
    with pytest.raises(Refused):
        check(sig=sig)


@given(st.binary(min_size=1, max_size=64))
def test_any_other_secret_is_refused(secret: bytes) -> None:
    assume(secret != SECRET)
    with pytest.raises(Refused):
        check(secret=secret)


@given(
    st.integers(min_value=-(10**11), max_value=10**11), st.integers(min_value=0, max_value=10**11)
)
def test_a_timestamp_is_accepted_exactly_when_within_five_minutes(sent: int, now: int) -> None:
    """Epoch seconds are never negative: a minus sign is not a timestamp Sentry sends."""
    fresh = sent >= 0 and abs(now - sent) <= MAX_AGE_SECONDS
    if fresh:
        check(stamp=str(sent), now=now)
    else:
        with pytest.raises(Refused):
            check(stamp=str(sent), now=now)


@given(st.text(max_size=20))
def test_a_timestamp_that_is_not_epoch_seconds_is_refused(stamp: str) -> None:
    assume(not (stamp.isascii() and stamp.strip().isdigit()))
    with pytest.raises(Refused) as refused:
        check(stamp=stamp)
    assert refused.value.reason == "timestamp"
