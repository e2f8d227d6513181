"""One error hierarchy for the whole platform.

Every failure a caller must react to is one of these; platform/http maps each class to one
HTTP status, so a route never chooses status codes by hand. Exchange errors are grouped by
what the caller must do next: retry, reconcile (outcome unknown) or reject.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ArgosyError",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "RateLimited",
    "Unauthorized",
    "Unavailable",
    "VenueError",
    "VenueReconcile",
    "VenueRejected",
    "VenueRetry",
]


class ArgosyError(Exception):
    """Base of every expected error; `code` is the stable machine-readable name."""

    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        if code is not None:
            self.code = code  # type: ignore[misc]  # instance override of the class default


class Invalid(ArgosyError):
    """The input breaks a rule; nothing was changed."""

    code = "invalid"


class NotFound(ArgosyError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"


class Conflict(ArgosyError):
    """The request contradicts the current state (version mismatch, duplicate id)."""

    code = "conflict"


class Unauthorized(ArgosyError):
    """No valid credentials were presented."""

    code = "unauthorized"


class Forbidden(ArgosyError):
    """The caller is known but lacks the permission."""

    code = "forbidden"


class RateLimited(ArgosyError):
    """Too many requests; `retry_after` says when to come back (seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(ArgosyError):
    """A dependency (database, bus, another service, an exchange) cannot be reached."""

    code = "unavailable"

    def __init__(self, message: str, *, dependency: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.dependency = dependency


class ConfigurationError(ArgosyError):
    """A setting is malformed; raised at start-up and reported as one line naming it."""

    code = "configuration"

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}", field=setting)
        self.setting = setting


class VenueError(ArgosyError):
    """An exchange answered with an error or did not answer."""

    code = "venue_error"

    def __init__(self, message: str, *, venue: str, venue_code: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.venue = venue
        self.venue_code = venue_code


class VenueRetry(VenueError):
    """Transient (rate limit, 5xx before acceptance, network): safe to retry as is."""

    code = "venue_retry"


class VenueReconcile(VenueError):
    """The outcome is unknown (timeout after send, -1006/-1007): query before acting."""

    code = "venue_reconcile"


class VenueRejected(VenueError):
    """The venue refused the request for good (bad params, insufficient balance)."""

    code = "venue_rejected"
