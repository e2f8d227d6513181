"""LocalObjectStore: atomic writes, confinement to its directory, listing and sidecars."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import orjson
import pytest

from argosy.kernel.errors import Invalid, NotFound, Unavailable
from argosy.platform.objects.local import LocalObjectStore


@pytest.fixture
async def store(tmp_path: Path) -> LocalObjectStore:
    s = LocalObjectStore(tmp_path / "objects", "trading")
    await s.connect()
    return s


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_put_get_stat(store: LocalObjectStore) -> None:
    info = await store.put(
        "reports/2024/run.json", b'{"pnl": 1}', content_type="application/json",
        metadata={"Run-Id": "42"},
    )
    assert info.key == "reports/2024/run.json"
    assert info.size == 10
    assert info.etag == md5_hex(b'{"pnl": 1}')
    assert info.metadata == {"run-id": "42"}
    assert await store.get("reports/2024/run.json") == b'{"pnl": 1}'
    assert await store.stat("reports/2024/run.json") == info


async def test_layout_and_sidecar(store: LocalObjectStore, tmp_path: Path) -> None:
    await store.put("a/b.txt", b"hi", content_type="text/plain", metadata={"k": "v"})
    base = tmp_path / "objects" / "trading" / "a"
    assert sorted(p.name for p in base.iterdir()) == ["b.txt@meta.json", "b.txt@obj"]
    sidecar = orjson.loads((base / "b.txt@meta.json").read_bytes())
    assert sidecar == {
        "content_type": "text/plain", "metadata": {"k": "v"},
        "etag": md5_hex(b"hi"), "size": 2,
    }


async def test_permissions_are_private(store: LocalObjectStore, tmp_path: Path) -> None:
    await store.put("deep/er/key", b"x")
    root = tmp_path / "objects"
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


async def test_a_key_and_its_children_coexist(store: LocalObjectStore) -> None:
    await store.put("a", b"1")
    await store.put("a/b", b"2")
    await store.put("a/b/c", b"3")
    assert [i.key for i in await store.list()] == ["a", "a/b", "a/b/c"]
    assert await store.get("a/b") == b"2"


@pytest.mark.parametrize(
    "key", ["../escape", "a/../../escape", "/etc/passwd", "a\\..\\b", "a\x00b", "a//b", ".."]
)
async def test_traversal_is_rejected(store: LocalObjectStore, key: str) -> None:
    with pytest.raises(Invalid) as info:
        await store.put(key, b"x")
    assert info.value.field == "key"


@pytest.mark.parametrize(
    "key", ["%2e%2e/escape", "...", "..%2f..%2fescape", "a@obj", "@tmp-x", "x@meta.json"]
)
async def test_odd_but_valid_keys_stay_inside(
    store: LocalObjectStore, tmp_path: Path, key: str
) -> None:
    await store.put(key, b"x")
    assert await store.get(key) == b"x"
    assert [i.key for i in await store.list()] == [key]
    inside = tmp_path / "objects" / "trading"
    assert all(p.is_relative_to(inside) for p in files_under(tmp_path))


async def test_stores_never_see_each_other(tmp_path: Path) -> None:
    a = LocalObjectStore(tmp_path, "users")
    b = LocalObjectStore(tmp_path, "users-archive")
    await a.connect()
    await b.connect()
    await a.put("k", b"a")
    await b.put("k", b"b")
    assert await a.get("k") == b"a"
    assert [i.key for i in await b.list()] == ["k"]


async def test_failed_write_leaves_old_object_and_no_temp_files(
    store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put("k", b"old", content_type="text/plain")
    real_replace = os.replace
    calls = []

    def crash_on_data(src: str, dst: str) -> None:
        calls.append(dst)
        if str(dst).endswith("@obj"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_data)
    with pytest.raises(Unavailable) as info:
        await store.put("k", b"new and longer")
    assert info.value.dependency == "objects"
    monkeypatch.undo()
    assert await store.get("k") == b"old"
    stat_ = await store.stat("k")
    assert stat_.size == 3
    assert stat_.etag == md5_hex(b"old")  # the sidecar's size gives it away
    assert not [p for p in files_under(tmp_path) if p.name.startswith("@tmp-")]


async def test_missing_sidecar_falls_back(store: LocalObjectStore, tmp_path: Path) -> None:
    await store.put("k", b"data", content_type="text/csv", metadata={"a": "b"})
    (tmp_path / "objects" / "trading" / "k@meta.json").unlink()
    info = await store.stat("k")
    assert info.content_type == "application/octet-stream"
    assert info.metadata == {}
    assert info.etag == md5_hex(b"data")


async def test_listing_ignores_strays(store: LocalObjectStore, tmp_path: Path) -> None:
    await store.put("x/y", b"1")
    base = tmp_path / "objects" / "trading" / "x"
    (base / "@tmp-abandoned").write_bytes(b"junk")
    (base / "orphan@meta.json").write_bytes(b"{}")
    (base / "README").write_bytes(b"hand-made")
    assert [i.key for i in await store.list()] == ["x/y"]


async def test_list_prefixes(store: LocalObjectStore) -> None:
    for key in ["rep/a", "reports/2024/b", "reports/2025/c", "other", "report"]:
        await store.put(key, b"x")
    assert [i.key for i in await store.list("rep")] == [
        "rep/a", "report", "reports/2024/b", "reports/2025/c"
    ]
    assert [i.key for i in await store.list("reports/")] == ["reports/2024/b", "reports/2025/c"]
    assert [i.key for i in await store.list("reports/2025")] == ["reports/2025/c"]
    assert await store.list("nothing/here/") == []
    listed = (await store.list("other"))[0]
    assert (listed.content_type, dict(listed.metadata)) == ("", {})


async def test_delete_is_idempotent_and_prunes_empty_directories(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    await store.put("a/b/c", b"x")
    await store.delete("a/b/c")
    await store.delete("a/b/c")
    assert not await store.exists("a/b/c")
    assert list((tmp_path / "objects" / "trading").iterdir()) == []
    with pytest.raises(NotFound):
        await store.get("a/b/c")


async def test_overlong_segment_is_invalid(store: LocalObjectStore) -> None:
    with pytest.raises(Invalid):
        await store.put("ü" * 100, b"x")  # 600 bytes once percent-encoded


async def test_not_connected_is_unavailable(tmp_path: Path) -> None:
    s = LocalObjectStore(tmp_path, "svc")
    with pytest.raises(Unavailable):
        await s.get("k")
    with pytest.raises(Unavailable):
        await s.check()


async def test_unwritable_root_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(Unavailable):
        await LocalObjectStore(blocker / "objects", "svc").connect()
