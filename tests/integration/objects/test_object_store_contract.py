"""One behavioural suite, run against LocalObjectStore and S3ObjectStore (SeaweedFS) alike."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable

import pytest

from argosy.kernel.errors import Invalid, NotFound
from argosy.platform.objects import ObjectStore

pytestmark = pytest.mark.integration

MakeStore = Callable[[str], Awaitable[ObjectStore]]


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def test_put_get_stat(store: ObjectStore) -> None:
    before = time.time_ns()
    info = await store.put(
        "reports/2024/run-7.json", b'{"pnl": "12.5"}', content_type="application/json",
        metadata={"Run-Id": "7", "strategy": "ema cross"},
    )
    assert info.key == "reports/2024/run-7.json"
    assert info.size == 15
    assert info.etag == md5_hex(b'{"pnl": "12.5"}')
    assert info.content_type == "application/json"
    assert dict(info.metadata) == {"run-id": "7", "strategy": "ema cross"}
    assert before - 2_000_000_000 <= info.modified_ns <= time.time_ns() + 2_000_000_000
    assert await store.get("reports/2024/run-7.json") == b'{"pnl": "12.5"}'
    assert await store.stat("reports/2024/run-7.json") == info
    assert await store.exists("reports/2024/run-7.json")


async def test_defaults(store: ObjectStore) -> None:
    info = await store.put("blob", b"\x00\x01")
    assert info.content_type == "application/octet-stream"
    assert dict(info.metadata) == {}


async def test_missing_objects(store: ObjectStore) -> None:
    with pytest.raises(NotFound) as info:
        await store.get("nope")
    assert info.value.field == "key"
    with pytest.raises(NotFound):
        await store.stat("no/such/key")
    assert not await store.exists("nope")
    await store.delete("nope")  # idempotent


async def test_overwrite_replaces_content_and_metadata(store: ObjectStore) -> None:
    await store.put("k", b"first", content_type="text/plain", metadata={"a": "1"})
    info = await store.put("k", b"second!", metadata={"b": "2"})
    assert await store.get("k") == b"second!"
    stat = await store.stat("k")
    assert stat == info
    assert (stat.size, stat.content_type, dict(stat.metadata)) == (
        7, "application/octet-stream", {"b": "2"}
    )


async def test_delete(store: ObjectStore) -> None:
    await store.put("a/b", b"x")
    await store.delete("a/b")
    assert not await store.exists("a/b")
    await store.delete("a/b")
    assert await store.list() == []


async def test_empty_and_large_objects(store: ObjectStore) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # above SeaweedFS' 4 MiB-chunk-ish boundaries
    await store.put("empty", b"")
    await store.put("big.bin", big)
    assert await store.get("empty") == b""
    assert (await store.stat("empty")).size == 0
    assert await store.get("big.bin") == big
    assert (await store.stat("big.bin")).etag == md5_hex(big)


async def test_list_sorted_with_prefixes(store: ObjectStore) -> None:
    keys = ["reports/2025/c", "rep/a", "other", "reports/2024/b", "report", "a", "a/b", "a/b/c"]
    for key in keys:
        await store.put(key, key.encode())
    listed = await store.list()
    assert [i.key for i in listed] == sorted(keys)
    assert all(i.size == len(i.key) and i.etag == md5_hex(i.key.encode()) for i in listed)
    assert all(i.modified_ns > 0 for i in listed)
    assert [i.key for i in await store.list("rep")] == [
        "rep/a", "report", "reports/2024/b", "reports/2025/c"
    ]
    assert [i.key for i in await store.list("reports/")] == ["reports/2024/b", "reports/2025/c"]
    assert [i.key for i in await store.list("reports/2025")] == ["reports/2025/c"]
    assert [i.key for i in await store.list("a/")] == ["a/b", "a/b/c"]
    assert await store.list("zzz") == []


async def test_list_is_cheap_and_says_so(store: ObjectStore) -> None:
    await store.put("k", b"v", content_type="text/plain", metadata={"m": "1"})
    [entry] = await store.list()
    assert (entry.content_type, dict(entry.metadata)) == ("", {})


@pytest.mark.parametrize(
    "key", ["über/naïve file.txt", "50%/x@y#z&q=1+2", "%2e%2e/not-up", "...", "a@obj", "x y/ z"]
)
async def test_unusual_keys_round_trip(store: ObjectStore, key: str) -> None:
    await store.put(key, b"v")
    assert await store.get(key) == b"v"
    assert [i.key for i in await store.list()] == [key]


@pytest.mark.parametrize(
    "key", ["", "/abs", "../up", "a/../../up", "a//b", "a/", "a\\b", "nul\x00", "a/./b"]
)
async def test_bad_keys_are_invalid(store: ObjectStore, key: str) -> None:
    for call in (store.put(key, b"x"), store.get(key), store.stat(key), store.delete(key)):
        with pytest.raises(Invalid) as info:
            await call
        assert info.value.field == "key"


async def test_bad_metadata_and_content_type(store: ObjectStore) -> None:
    with pytest.raises(Invalid) as info:
        await store.put("k", b"x", metadata={"bad name": "v"})
    assert info.value.field == "metadata"
    with pytest.raises(Invalid) as info:
        await store.put("k", b"x", metadata={"padded": " v "})  # S3 would trim it
    assert info.value.field == "metadata"
    with pytest.raises(Invalid) as info:
        await store.put("k", b"x", content_type="text/plain\r\nX-Evil: 1")
    assert info.value.field == "content_type"
    assert not await store.exists("k")


async def test_services_never_see_each_other(make_store: MakeStore, scope: str) -> None:
    mine = await make_store(scope)
    theirs = await make_store(scope + "-other")
    nested = await make_store(scope + "/inner")
    await mine.put("k", b"mine")
    await theirs.put("k", b"theirs")
    await nested.put("k", b"nested")
    assert await mine.get("k") == b"mine"
    assert await theirs.get("k") == b"theirs"
    assert [i.key for i in await theirs.list()] == ["k"]
    # A store sees what lies under its prefix, like a directory: here the nested store's.
    assert [i.key for i in await mine.list()] == ["inner/k", "k"]


async def test_check_passes_when_connected(store: ObjectStore) -> None:
    await store.check()
