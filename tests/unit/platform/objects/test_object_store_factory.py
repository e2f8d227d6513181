"""create_object_store picks the backend from the URL and names the setting when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from argosy.kernel.errors import ConfigurationError
from argosy.platform.objects import create_object_store
from argosy.platform.objects.local import LocalObjectStore
from argosy.platform.objects.s3 import S3ObjectStore


@pytest.mark.parametrize("url", ["file://", "file:///", "file://localhost"])
def test_file_defaults_to_data_dir(url: str, tmp_path: Path) -> None:
    store = create_object_store(url, prefix="trading", data_dir=tmp_path)
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"


def test_file_absolute_dir(tmp_path: Path) -> None:
    store = create_object_store(f"file://{tmp_path}/blobs", prefix="t", data_dir=Path("unused"))
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "blobs"


def test_s3_with_base_prefix_and_options(tmp_path: Path) -> None:
    store = create_object_store(
        "s3://argosy-data/prod/eu?endpoint=http://127.0.0.1:8333&region=eu-west-1"
        "&create_bucket=true",
        prefix="trading", data_dir=tmp_path, access_key_id="AK", secret_access_key="SHHH",
    )
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.endpoint_url, store.region) == (
        "argosy-data", "http://127.0.0.1:8333", "eu-west-1"
    )
    assert store.base_prefix == "prod/eu"
    assert store.create_bucket is True
    assert "SHHH" not in repr(store)
    assert "AK" not in repr(store)


def test_s3_defaults(tmp_path: Path) -> None:
    store = create_object_store("s3://argosy-data", prefix="t", data_dir=tmp_path)
    assert isinstance(store, S3ObjectStore)
    assert (store.endpoint_url, store.region, store.base_prefix, store.create_bucket) == (
        None, "us-east-1", "", False
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "gs://bucket",
        "file://relative/dir",
        "s3://",
        "s3://Bad_Bucket",
        "s3://ab",
        "s3://bucket?endpoint=127.0.0.1:8333",
        "s3://bucket?endpiont=http://x",
        "s3://bucket?create_bucket=maybe",
        "s3://bucket/../up",
    ],
)
def test_bad_urls_name_the_setting(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_object_store(url, prefix="t", data_dir=tmp_path)
    assert info.value.setting == "ARGOSY_OBJECTS_URL"
