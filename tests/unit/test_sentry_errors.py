"""The Sentry error table and the messages shown in Slack (docs.sentry.io/api/requests/)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sentry.errors import (
    ErrorContext,
    SentryBadRequest,
    SentryForbidden,
    SentryGone,
    SentryHTTPError,
    SentryNotFound,
    SentryRateLimited,
    SentryServerError,
    SentryUnauthorized,
    error_from_response,
)


def context(status: int, **extra: Any) -> ErrorContext:
    return ErrorContext(status=status, method="PUT", path="/organizations/acme/issues/1/", **extra)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, SentryBadRequest),
        (401, SentryUnauthorized),
        (403, SentryForbidden),
        (404, SentryNotFound),
        (410, SentryGone),
        (429, SentryRateLimited),
        (500, SentryServerError),
        (502, SentryServerError),
        (418, SentryHTTPError),
    ],
)
def test_status_maps_to_one_class(status: int, cls: type[SentryHTTPError]) -> None:
    error = error_from_response(context(status))
    assert type(error) is cls
    assert error.status == status
    assert error.method == "PUT"


def test_messages_name_scope_resource_and_fields() -> None:
    forbidden = error_from_response(context(403, required_scope="event:write"))
    missing = error_from_response(context(404, resource="issue WEB-3F"))
    bad = error_from_response(
        context(400, field_errors={"statusDetails": {"inRelease": ["Unknown release."]}})
    )
    limited = error_from_response(context(429, retry_after=3.0))

    assert str(forbidden) == "Sentry refused: the token lacks the event:write scope"
    assert str(missing) == "Sentry has no issue WEB-3F (or the token cannot see it)"
    assert str(bad) == "Sentry rejected the request: statusDetails.inRelease: Unknown release."
    assert isinstance(limited, SentryRateLimited)
    assert limited.retry_after == 3.0
    assert "3 s" in str(limited)
