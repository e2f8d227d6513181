"""What only S3 shows: credentials, unreachable endpoints, buckets and the URL's base prefix."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog

from argosy.kernel.errors import Unavailable
from argosy.platform.objects import create_object_store
from argosy.platform.objects.s3 import S3ObjectStore

if TYPE_CHECKING:  # the fixture's type only; conftest is never imported by tests
    from tests.integration.objects.conftest import S3Server

MakeS3 = Callable[..., S3ObjectStore]

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_wrong_secret_is_unavailable_and_secret_never_shown(
    s3_server: S3Server, s3_bucket: str
) -> None:
    store = S3ObjectStore(
        bucket=s3_bucket, prefix="svc", endpoint_url=s3_server.endpoint,
        access_key_id=s3_server.access_key_id, secret_access_key="wrong-secret-123",
        max_attempts=1,
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(Unavailable) as info:
        await store.connect()
    assert info.value.dependency == "objects"
    assert "credentials" in str(info.value)
    for text in (str(info.value), repr(store), repr(logs)):
        assert "wrong-secret-123" not in text
        assert s3_server.secret_access_key not in text


async def test_unreachable_endpoint_is_unavailable() -> None:
    store = S3ObjectStore(
        bucket="argosy-test", prefix="svc", endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        access_key_id="a", secret_access_key="b", max_attempts=1, connect_timeout=1,
    )
    with pytest.raises(Unavailable, match="unreachable"):
        await store.connect()
    with pytest.raises(Unavailable, match="not connected"):
        await store.get("k")


async def test_missing_bucket_without_create_is_unavailable(s3_server: S3Server) -> None:
    store = S3ObjectStore(
        bucket="argosy-test-never-created", prefix="svc", endpoint_url=s3_server.endpoint,
        access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key,
    )
    with pytest.raises(Unavailable, match="does not exist"):
        await store.connect()


async def test_connect_creates_the_bucket_once(make_s3_store: MakeS3, s3_bucket: str) -> None:
    first = make_s3_store("svc", bucket=s3_bucket + "-new")
    second = make_s3_store("svc", bucket=s3_bucket + "-new")
    await first.connect()
    await second.connect()  # already there: no error
    await second.check()


async def test_url_base_prefix_places_objects(
    s3_server: S3Server, s3_bucket: str, make_s3_store: MakeS3, tmp_path: Path
) -> None:
    url = (f"s3://{s3_bucket}/deploy/eu?endpoint={s3_server.endpoint}"
           f"&region={s3_server.region}&create_bucket=true")
    store = create_object_store(
        url, prefix="trading", data_dir=tmp_path,
        access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key,
    )
    # Seen from the bucket root, through a store confined to "deploy".
    root = make_s3_store("deploy")
    await store.connect()
    await root.connect()
    try:
        await store.put("fills/1.json", b"{}")
        assert [i.key for i in await root.list("eu/")] == ["eu/trading/fills/1.json"]
    finally:
        await store.delete("fills/1.json")
        await store.close()


async def test_check_after_close_is_unavailable(make_s3_store: MakeS3) -> None:
    store = make_s3_store("svc")
    await store.connect()
    await store.close()
    with pytest.raises(Unavailable):
        await store.check()
