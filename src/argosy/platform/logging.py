"""structlog JSON logging with request/correlation ids, and secrets kept out of every line.

The stdlib root logger holds the level, so uvicorn, SQLAlchemy and our own loggers obey one
switch, and `set_level` changes it at runtime (the config service pushes it live).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "current_level", "redact", "set_level"]

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|private|credential|otp)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# Telegram puts the bot token in the path: https://api.telegram.org/bot<token>/sendMessage
_BOT_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+/")
# user:password@ inside a URL (postgresql://argosy:pw@db/...)
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/@:\s]*):[^/@\s]+@")
# password=..., "api_key": "...", token: ... inside free text (query strings, error messages)
_INLINE = re.compile(
    r"""(?ix)
    ( \b[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|authorization)[\w-]*["']?
      \s*[:=]\s*["']? )
    (?!(?:bearer|basic)\s|\*\*\*)
    [^\s"'&,;}]+
    """
)
MASK = "***"
_PLAIN_KEYS = frozenset({"event"})  # text of the message: scanned, but never masked whole
_SCALARS = (int, float, bool, type(None))
# Values the platform itself produces and that never hold a credential: not scanned, which
# matters on the per-request log line (redaction was a third of the gateway's CPU).
_SAFE_KEYS = frozenset({
    "request_id", "correlation_id", "method", "route", "status", "duration_ms", "service",
    "upstream", "instance", "upstream_ms", "attempts", "msg_id", "topic", "dependency",
    "delivery", "group", "version", "namespace", "level", "timestamp", "logger", "logger_name",
})


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def _mask_text(text: str) -> str:
    # Every pattern needs a space, ':' or '='; most log values have none of them.
    if " " not in text and ":" not in text and "=" not in text:
        return text
    text = _BEARER.sub(r"\1 " + MASK, text)
    text = _BOT_TOKEN.sub("/bot" + MASK + "/", text)
    text = _URL_PASSWORD.sub(r"\1:" + MASK + "@", text)
    return _INLINE.sub(r"\1" + MASK, text)


def _mask(key: str, value: Any, depth: int = 0) -> Any:
    if _secret_key(key) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return _mask_text(value)
    if depth < 5 and isinstance(value, Mapping):
        return {k: _mask(str(k), v, depth + 1) for k, v in value.items()}
    if depth < 5 and isinstance(value, list):
        return [_mask("", v, depth + 1) for v in value]
    if depth < 5 and isinstance(value, tuple):
        return tuple(_mask("", v, depth + 1) for v in value)
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask values whose key names a secret (at any depth), and credentials inside strings:
    bearer/basic tokens, URL passwords and `password=...` pairs (the message included)."""
    for key, value in list(event.items()):
        scalar = isinstance(value, _SCALARS)
        if key in _SAFE_KEYS and (scalar or isinstance(value, str)):
            continue
        if scalar:
            if _secret_key(key) and value not in (None, False):
                event[key] = MASK
            continue
        if key in _PLAIN_KEYS:
            if isinstance(value, str):
                event[key] = _mask_text(value)
            continue
        event[key] = _mask(key, value)
    return event


def configure_logging(
    level: str = "info", *, fmt: str = "json", service: str | None = None
) -> None:
    """Route structlog and stdlib logging to stdout as one JSON object per line."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if service:
        shared.insert(0, _add_service(service))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.format_exc_info,
            redact,  # after the traceback is text: exception messages can hold secrets too
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.processors.format_exc_info, redact],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests
    set_level(level)


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level.upper())
    # Libraries that chatter at debug stay at info unless asked for by name.
    for noisy in ("aiosqlite", "asyncio", "botocore", "urllib3", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def current_level() -> str:
    return logging.getLevelName(logging.getLogger().level).lower()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stdout is at the time (redirected, captured, reopened)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _add_service(service: str) -> Any:
    def add(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("service", service)
        return event

    return add
