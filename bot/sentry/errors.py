"""The typed errors of the Sentry client, mapped from HTTP status through one table.

::

    SentryError                    status, detail, method, path (never the token)
    ├── SentryTransportError       network failure or timeout, after the client's retries
    │   └── SentryDeadlineExceeded the whole request took longer than its deadline (not retried)
    ├── SentryProtocolError        a success answer whose body is not the JSON Sentry documents
    │   └── SentryResponseTooLarge the body (compressed or inflated) is over the client's cap
    └── SentryHTTPError            Sentry answered with an error status
        ├── SentryBadRequest       400, `field_errors` from DRF (`{"assignedTo": ["…"]}`)
        ├── SentryUnauthorized     401, token missing, invalid or expired
        ├── SentryForbidden        403, `required_scope` the operation needs
        ├── SentryNotFound         404, `resource` such as "issue WEB-3F"
        ├── SentryGone             410, a deprecated route in a brownout window
        ├── SentryRateLimited      429, `retry_after` seconds (from X-Sentry-Rate-Limit-Reset)
        └── SentryServerError      5xx

Every error's `str()` is a short sentence fit for an ephemeral Slack reply. Bodies and texts follow
Sentry's DRF error shapes (docs.sentry.io/api/requests/; Sentry `src/sentry/api/base.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SentryError(Exception):
    """Base of every failure talking to Sentry; carries the request line, never credentials."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"method={self.method!r}, path={self.path!r})"
        )


class SentryTransportError(SentryError):
    """Sentry could not be reached, or did not answer in time, on every attempt."""


class SentryDeadlineExceeded(SentryTransportError):
    """One request (connect, send, every byte of the answer) took longer than its deadline;
    `deadline` is that limit in seconds. A server that drips its answer is caught here."""

    deadline: float = 0.0


class SentryProtocolError(SentryError):
    """Sentry answered with success but the body is not the documented JSON."""


class SentryResponseTooLarge(SentryProtocolError):
    """The answer is larger than the client reads; `limit` is the cap in bytes."""

    limit: int = 0


class SentryHTTPError(SentryError):
    """Sentry answered with an error status; subclasses name the common ones."""

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        return f"Sentry answered HTTP {context.status}" + _suffix(context.detail)


class ErrorContext:
    """What the client knows when an error answer arrives; input to `error_from_response`."""

    __slots__ = (
        "detail",
        "field_errors",
        "method",
        "path",
        "required_scope",
        "resource",
        "retry_after",
        "status",
    )

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        detail: str = "",
        field_errors: Mapping[str, Any] | None = None,
        required_scope: str | None = None,
        resource: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        self.field_errors: Mapping[str, Any] = field_errors or {}
        self.required_scope = required_scope
        self.resource = resource
        self.retry_after = retry_after


class SentryBadRequest(SentryHTTPError):
    """400: Sentry rejected the request; DRF field errors are kept in `field_errors`."""

    field_errors: Mapping[str, Any] = {}

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        reason = context.detail or _flatten(context.field_errors) or "invalid request"
        return f"Sentry rejected the request: {reason}"


class SentryUnauthorized(SentryHTTPError):
    """401: the token is missing, invalid, revoked or expired."""

    required_scope: str | None = None

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        scope = context.required_scope
        needs = f" (this needs the {scope} scope)" if scope else ""
        return "Sentry did not accept the bot's token; check SENTRY_TOKEN" + needs


class SentryForbidden(SentryHTTPError):
    """403: the token lacks the scope (or project access) the operation needs."""

    required_scope: str | None = None

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        if context.required_scope:
            return f"Sentry refused: the token lacks the {context.required_scope} scope"
        return "Sentry refused: the token may not do this" + _suffix(context.detail)


class SentryNotFound(SentryHTTPError):
    """404: `resource` names what was looked up, e.g. "issue WEB-3F"."""

    resource: str | None = None

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        what = context.resource or "the requested resource"
        return f"Sentry has no {what} (or the token cannot see it)"


class SentryGone(SentryHTTPError):
    """410: a deprecated route in a brownout (Sentry `src/sentry/api/helpers/deprecation.py`)."""

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        return "Sentry no longer offers this API route" + _suffix(context.detail)


class SentryRateLimited(SentryHTTPError):
    """429: `retry_after` is the wait in seconds, when Sentry said (SaaS only)."""

    retry_after: float | None = None

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        if context.retry_after is not None:
            return f"Sentry is rate limiting the bot; try again in {context.retry_after:.0f} s"
        return "Sentry is rate limiting the bot; try again shortly"


class SentryServerError(SentryHTTPError):
    """5xx: Sentry failed; retried by the client before this is raised."""

    @classmethod
    def describe(cls, context: ErrorContext) -> str:
        return f"Sentry had an internal error (HTTP {context.status}); try again shortly"


STATUS_ERRORS: Mapping[int, type[SentryHTTPError]] = {
    400: SentryBadRequest,
    401: SentryUnauthorized,
    403: SentryForbidden,
    404: SentryNotFound,
    410: SentryGone,
    429: SentryRateLimited,
}


def error_class_for(status: int) -> type[SentryHTTPError]:
    """The one status → class table; any 5xx is a server error."""
    if status >= 500:
        return SentryServerError
    return STATUS_ERRORS.get(status, SentryHTTPError)


def error_from_response(context: ErrorContext) -> SentryHTTPError:
    """Build the typed error for an error answer, with its human message."""
    cls = error_class_for(context.status)
    error = cls(
        cls.describe(context),
        status=context.status,
        detail=context.detail,
        method=context.method,
        path=context.path,
    )
    if isinstance(error, SentryBadRequest):
        error.field_errors = dict(context.field_errors)
    if isinstance(error, SentryUnauthorized | SentryForbidden):
        error.required_scope = context.required_scope
    if isinstance(error, SentryNotFound):
        error.resource = context.resource
    if isinstance(error, SentryRateLimited):
        error.retry_after = context.retry_after
    return error


def _suffix(detail: str) -> str:
    return f" ({detail})" if detail else ""


def _flatten(errors: Mapping[str, Any], prefix: str = "") -> str:
    """`{"statusDetails": {"inRelease": ["Unknown"]}}` → `statusDetails.inRelease: Unknown`."""
    parts: list[str] = []
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            parts.append(_flatten(value, prefix=f"{name}."))
        elif isinstance(value, list):
            parts.append(f"{name}: {' '.join(str(v) for v in value)}")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(p for p in parts if p)


# Sentry `issues/endpoints/group_notes.py` (`GroupNotesEndpoint.post`): the same author posting
# the same comment on an issue within one hour. Older versions send the text as a JSON string.
ALREADY_POSTED = "You have already posted that comment."


def already_posted(error: SentryError) -> bool:
    """Whether Sentry refused a comment because the same author just posted the same text."""
    return isinstance(error, SentryBadRequest) and error.detail == ALREADY_POSTED
