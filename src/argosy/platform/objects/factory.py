"""Pick the object store from its URL: file://, file:///abs/dir, s3://bucket[/base]?endpoint=..."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from argosy.kernel.errors import ConfigurationError
from argosy.platform.objects.base import ObjectStore

__all__ = ["OBJECTS_SCHEMES", "create_object_store"]

OBJECTS_SCHEMES = ("file", "s3")

_SETTING = "ARGOSY_OBJECTS_URL"
_S3_OPTIONS = frozenset({"endpoint", "region", "create_bucket"})
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def create_object_store(
    url: str,
    *,
    prefix: str,
    data_dir: Path,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> ObjectStore:
    """A store for `url` confined to `prefix` (the service name).

    `file://` keeps objects under `<data_dir>/objects`; `file:///abs/dir` under that
    directory. `s3://bucket/base?endpoint=http://127.0.0.1:8333&region=us-east-1
    &create_bucket=true` stores them under `base/<prefix>/` in the bucket.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        from argosy.platform.objects.local import LocalObjectStore

        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(
                _SETTING, f"file URL has a host {parts.netloc!r}; use file:///absolute/dir"
            )
        path = unquote(parts.path)
        root = Path(path) if path not in ("", "/") else Path(data_dir) / "objects"
        return LocalObjectStore(root, prefix)
    if parts.scheme == "s3":
        from argosy.platform.objects.s3 import S3ObjectStore

        bucket = parts.netloc
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise ConfigurationError(
                _SETTING, f"bad S3 bucket name {bucket!r}: 3-63 of a-z, 0-9, '.' and '-'"
            )
        options = _s3_options(parts.query)
        endpoint = options.get("endpoint")
        if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ConfigurationError(_SETTING, f"endpoint {endpoint!r} must be http(s)://...")
        try:
            return S3ObjectStore(
                bucket=bucket,
                prefix=prefix,
                endpoint_url=endpoint,
                region=options.get("region", "us-east-1"),
                base_prefix=unquote(parts.path).strip("/"),
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                create_bucket=_flag(options.get("create_bucket", "false")),
            )
        except ValueError as exc:  # a bad base prefix in the path
            raise ConfigurationError(_SETTING, str(exc)) from None
    raise ConfigurationError(
        _SETTING, f"unsupported scheme {parts.scheme!r}; use file:// or s3://bucket?endpoint=..."
    )


def _s3_options(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(parsed) - _S3_OPTIONS)
    if unknown:
        raise ConfigurationError(
            _SETTING, f"unknown S3 options {unknown}; known: {sorted(_S3_OPTIONS)}"
        )
    return {name: values[-1] for name, values in parsed.items()}


def _flag(value: str) -> bool:
    low = value.lower()
    if low not in _TRUE | _FALSE:
        raise ConfigurationError(_SETTING, f"create_bucket must be true or false, got {value!r}")
    return low in _TRUE
