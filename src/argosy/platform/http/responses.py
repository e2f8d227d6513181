"""JSON responses rendered with orjson (Decimals as strings, never floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["JsonResponse", "dumps"]


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
