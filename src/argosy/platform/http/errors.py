"""The one mapping from errors to HTTP responses.

Body, always: {"error": {"code", "message", "field", "request_id"}} (+ "details" when useful).
Unexpected exceptions are logged with their traceback and answered with a bare 500, so no
internal detail leaks to the caller.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from argosy.kernel import errors as e
from argosy.platform.http.responses import JsonResponse

__all__ = [
    "STATUS_BY_ERROR",
    "error_body",
    "install_error_handlers",
    "status_for",
    "unexpected_error_response",
]

log = structlog.get_logger("argosy.http")

STATUS_BY_ERROR: dict[type[e.ArgosyError], int] = {
    e.Invalid: 422,
    e.NotFound: 404,
    e.Conflict: 409,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.RateLimited: 429,
    e.Unavailable: 503,
    e.VenueRejected: 422,
    e.VenueRetry: 503,
    e.VenueReconcile: 502,
    e.VenueError: 502,
    e.ConfigurationError: 500,
}

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
               503: "unavailable"}


def status_for(exc: e.ArgosyError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _request_id() -> str | None:
    rid = structlog.contextvars.get_contextvars().get("request_id")
    return str(rid) if rid else None


def error_body(
    code: str, message: str, field: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code, "message": message, "field": field, "request_id": _request_id(),
    }
    if details:
        body["details"] = details
    return {"error": body}


_LOCATIONS = ("body", "query", "path", "header", "cookie")


def _field_of(loc: tuple[Any, ...]) -> str | None:
    """("body", "file", "path") -> "file.path": only the leading location is dropped, so a
    nested field that happens to be called `path` or `query` keeps its name."""
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in _LOCATIONS else loc)]
    return ".".join(parts) or (str(loc[-1]) if loc else None)


async def _argosy_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, e.ArgosyError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, e.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        log.error("request.failed", code=exc.code, message=exc.message)
    else:
        log.info("request.rejected", code=exc.code, message=exc.message, field=exc.field)
    return JsonResponse(
        error_body(exc.code, exc.message, exc.field, exc.details), status, headers=headers
    )


async def _validation_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field_of(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid request"))
    details = {"errors": [{"field": _field_of(tuple(x.get("loc", ()))), "message": x.get("msg")}
                          for x in errors[:20]]}
    log.info("request.rejected", code="invalid", message=message, field=field)
    return JsonResponse(error_body("invalid", message, field, details), 422)


async def _http_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JsonResponse(
        error_body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
    )


def unexpected_error_response(exc: BaseException) -> JsonResponse:
    """For the request middleware: anything not an ArgosyError is a bug, logged in full."""
    log.error("request.crashed", exc_info=exc)
    return JsonResponse(error_body("internal", "internal error"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(e.ArgosyError, _argosy_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
