"""The object store interface every backend implements, and the rules they all share.

Why an interface: reports, backtest results and exports live on the local disk of a laptop
and in S3 (MinIO, SeaweedFS, AWS) in a deployment. One behavioural test suite runs on both.

Semantics (the same on every backend):
- A store is confined to a prefix given at construction (the service name); keys are
  relative to it, so services never see each other's objects.
- Keys are `/`-separated relative paths (see _keys.py); a key may be both an object and the
  beginning of others (`a` and `a/b`), as in S3.
- `put` replaces the whole object atomically: readers see the old or the new one.
- `etag` changes whenever the content does; it is the hex MD5 of the content on the local
  store, SeaweedFS, MinIO and plain AWS uploads (not under SSE-KMS: compare, never recompute).
- `list` is cheap: entries carry key, size, etag and modified time, but no content type or
  metadata (S3 listings do not return them); `stat` an entry for those.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field

from argosy.kernel.errors import NotFound
from argosy.platform.lifecycle import Connectable
from argosy.platform.objects._keys import (
    validate_content_type,
    validate_key,
    validate_list_prefix,
    validate_metadata,
    validate_scope,
)

__all__ = ["DEFAULT_CONTENT_TYPE", "ObjectInfo", "ObjectStore", "not_found"]

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows about one object. `modified_ns` is int nanoseconds UTC."""

    key: str  # relative to the store's prefix
    size: int
    etag: str  # no quotes; see the module docstring
    modified_ns: int
    content_type: str = ""  # empty in `list` results
    metadata: Mapping[str, str] = field(default_factory=dict)  # empty in `list` results


class ObjectStore(Connectable):
    """Whole-object blob storage confined to one prefix; see the module docstring."""

    #: short name for logs, metrics and /readyz ("local", "s3")
    kind: str = "objects"

    def __init__(self, *, prefix: str) -> None:
        self.prefix = validate_scope(prefix)

    # Implementations receive validated keys, relative to `self.prefix`.

    @abc.abstractmethod
    async def _put(
        self, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> ObjectInfo: ...

    @abc.abstractmethod
    async def _get(self, key: str) -> bytes: ...

    @abc.abstractmethod
    async def _stat(self, key: str) -> ObjectInfo: ...

    @abc.abstractmethod
    async def _delete(self, key: str) -> None: ...

    @abc.abstractmethod
    async def _list(self, prefix: str) -> builtins.list[ObjectInfo]: ...

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store `data` under `key`, replacing any previous object and its metadata."""
        if not isinstance(data, bytes):
            raise TypeError(f"object data is bytes, got {type(data).__name__}")
        return await self._put(
            validate_key(key), data, validate_content_type(content_type),
            validate_metadata(metadata),
        )

    async def get(self, key: str) -> bytes:
        """The object's content; `NotFound` when absent."""
        return await self._get(validate_key(key))

    async def stat(self, key: str) -> ObjectInfo:
        """Size, etag, time, content type and metadata; `NotFound` when absent."""
        return await self._stat(validate_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except NotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Remove the object; deleting an absent object is not an error."""
        await self._delete(validate_key(key))

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Objects whose key starts with `prefix` (plain string prefix), sorted by key."""
        infos = await self._list(validate_list_prefix(prefix))
        return sorted(infos, key=lambda info: info.key)


def not_found(key: str) -> NotFound:
    """The one error every store raises for a missing object."""
    return NotFound(f"object {key!r} not found", field="key")
