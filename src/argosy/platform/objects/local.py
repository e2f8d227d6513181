"""Object store on the local disk, for a laptop and for tests.

Layout under `root`: one directory per key segment, each segment percent-encoded, so no
key can name a path outside the store (`/` and `..` cannot survive encoding). An object
`a/b` is the data file `a/b@obj` beside its sidecar `a/b@meta.json` (content type, metadata,
etag). The `@` suffix lets `a` and `a/b` coexist as in S3: encoded names never contain `@`.

A write goes to a temp file that is fsynced, then renamed over the old one (sidecar first,
then data), so a reader sees the old or the new content, never a torn one. Directories
are 0700 and files 0600: the objects belong to this service alone.

Case-insensitive filesystems (macOS default) fold keys that differ only by case.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

import orjson
import structlog

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.objects.base import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectStore, not_found

__all__ = ["LocalObjectStore"]

log = structlog.get_logger("argosy.objects.local")

_DATA = "@obj"
_META = "@meta.json"
_TEMP = "@tmp-"
_NAME_MAX = 255 - len(_META)

T = TypeVar("T")


class LocalObjectStore(ObjectStore):
    kind = "local"

    def __init__(self, root: Path, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self.root = Path(root).absolute()
        self._base = self.root.joinpath(*(_encode(s) for s in self.prefix.split("/")))
        self._write_lock = asyncio.Lock()  # one writer per directory tree in this process
        self._open = False

    async def connect(self) -> None:
        with _disk_errors(self.root):
            await asyncio.to_thread(_make_dirs, self._base)
        self._open = True
        log.info("objects.connected", kind=self.kind, root=str(self.root), prefix=self.prefix)

    async def close(self) -> None:
        self._open = False

    async def check(self) -> None:
        self._require_open()
        if not await asyncio.to_thread(os.access, self._base, os.W_OK | os.X_OK):
            raise Unavailable(f"object directory {self._base} is not writable",
                              dependency="objects")

    async def _put(
        self, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> ObjectInfo:
        async with self._write_lock:
            return await self._run(self._put_sync, key, data, content_type, metadata)

    async def _get(self, key: str) -> bytes:
        return await self._run(self._get_sync, key)

    async def _stat(self, key: str) -> ObjectInfo:
        return await self._run(self._stat_sync, key)

    async def _delete(self, key: str) -> None:
        async with self._write_lock:
            await self._run(self._delete_sync, key)

    async def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        return await self._run(self._list_sync, prefix)

    def _put_sync(
        self, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        _make_dirs(data_path.parent)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        sidecar = {"content_type": content_type, "metadata": metadata, "etag": etag,
                   "size": len(data)}
        _write_atomic(meta_path, orjson.dumps(sidecar))
        _write_atomic(data_path, data)
        _fsync_dir(data_path.parent)
        st = data_path.stat()
        return ObjectInfo(key, len(data), etag, st.st_mtime_ns, content_type, metadata)

    def _get_sync(self, key: str) -> bytes:
        with _missing_is_not_found(key):
            return self._paths(key)[0].read_bytes()

    def _stat_sync(self, key: str) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        with _missing_is_not_found(key):
            st = data_path.stat()
            sidecar = _read_sidecar(meta_path)
            etag = sidecar.get("etag")
            if not isinstance(etag, str) or sidecar.get("size") != st.st_size:
                etag = _md5_file(data_path)  # sidecar lost or from an interrupted write
        metadata = sidecar.get("metadata")
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=etag,
            modified_ns=st.st_mtime_ns,
            content_type=str(sidecar.get("content_type") or DEFAULT_CONTENT_TYPE),
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
        )

    def _delete_sync(self, key: str) -> None:
        data_path, meta_path = self._paths(key)
        for path in (data_path, meta_path):  # data first: the object vanishes at once
            with suppress(FileNotFoundError, NotADirectoryError):
                path.unlink()
        parent = data_path.parent
        while parent != self._base and parent.is_relative_to(self._base):
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent

    def _list_sync(self, prefix: str) -> builtins.list[ObjectInfo]:
        *dirs, partial = prefix.split("/")
        start = self._base.joinpath(*(_encode(d) for d in dirs))
        if not start.is_dir():
            return []
        infos: list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(start):
            here = Path(dirpath)
            parts = [unquote(p) for p in here.relative_to(self._base).parts]
            if here == start:  # the partial segment filters the first level only
                dirnames[:] = [d for d in dirnames if unquote(d).startswith(partial)]
            dirnames[:] = [d for d in dirnames if "@" not in d]
            for name in filenames:
                if name.startswith("@") or not name.endswith(_DATA):
                    continue
                key = "/".join([*parts, unquote(name[: -len(_DATA)])])
                if not key.startswith(prefix):
                    continue
                info = self._list_entry(key, here / name, here / (name[: -len(_DATA)] + _META))
                if info is not None:
                    infos.append(info)
        return infos

    def _list_entry(self, key: str, data_path: Path, meta_path: Path) -> ObjectInfo | None:
        try:
            st = data_path.stat()
            sidecar = _read_sidecar(meta_path)
            etag = sidecar.get("etag")
            if not isinstance(etag, str) or sidecar.get("size") != st.st_size:
                etag = _md5_file(data_path)
        except FileNotFoundError:  # deleted while listing
            return None
        return ObjectInfo(key=key, size=st.st_size, etag=etag, modified_ns=st.st_mtime_ns)

    def _paths(self, key: str) -> tuple[Path, Path]:
        names = [_encode(s) for s in key.split("/")]
        if any(len(n) > _NAME_MAX for n in names):
            raise Invalid(
                f"object key {key!r} has a segment too long for the local store", field="key"
            )
        parent = self._base.joinpath(*names[:-1])
        path = parent / (names[-1] + _DATA)
        # Encoding already makes escape impossible; this line makes it obvious.
        if not path.is_relative_to(self._base):
            raise Invalid(f"object key {key!r} leaves the store", field="key")
        return path, parent / (names[-1] + _META)

    def _require_open(self) -> None:
        if not self._open:
            raise Unavailable("local object store is not connected", dependency="objects")

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking file I/O off the loop."""
        self._require_open()
        with _disk_errors(self.root):
            return await asyncio.to_thread(fn, *args)


def _encode(segment: str) -> str:
    return quote(segment, safe="")


def _make_dirs(path: Path) -> None:
    """Create `path` and any missing parents as 0700 (os.makedirs leaves parents 0777)."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with suppress(FileExistsError):
            directory.mkdir(mode=0o700)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=_TEMP, dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_dir(path: Path) -> None:
    """Make the renames durable: a rename lives in the directory, not in the file."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_sidecar(path: Path) -> dict[str, object]:
    try:
        loaded = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _disk_errors(root: Path) -> Iterator[None]:
    """A failing disk (full, read-only, permissions) makes the store `Unavailable`."""
    try:
        yield
    except OSError as exc:
        raise Unavailable(
            f"local object store at {root} failed: {exc.strerror or exc}", dependency="objects"
        ) from exc


@contextmanager
def _missing_is_not_found(key: str) -> Iterator[None]:
    try:
        yield
    except (FileNotFoundError, NotADirectoryError):
        raise not_found(key) from None
