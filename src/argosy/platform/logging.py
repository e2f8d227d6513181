"""structlog JSON logging with request/correlation ids, and secrets kept out of every line.

The stdlib root logger holds the level, so uvicorn, SQLAlchemy and our own loggers obey one
switch, and `set_level` changes it at runtime (the config service pushes it live).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "current_level", "redact", "set_level"]

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|private|credential|otp)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
MASK = "***"


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask values whose key names a secret, and bearer credentials inside strings."""
    for key, value in list(event.items()):
        if key in ("event", "level", "timestamp", "logger"):
            continue
        if _SECRET_KEY.search(key) and value not in (None, "", False):
            event[key] = MASK
        elif isinstance(value, str) and _BEARER.search(value):
            event[key] = _BEARER.sub(r"\1 " + MASK, value)
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
        redact,
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
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.processors.format_exc_info],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
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


def _add_service(service: str) -> Any:
    def add(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("service", service)
        return event

    return add
