"""Object store on S3 or an S3-compatible server (MinIO, SeaweedFS, Ceph), via aiobotocore.

Path-style addressing (`http://host/bucket/key`) so servers without wildcard DNS work.
Checksums are sent only when an operation requires them: the newer default CRC headers
are rejected by some S3-compatible servers. Credentials come from the constructor (or the
standard AWS chain when None) and never reach a log line or `repr`.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.objects._keys import MAX_KEY_BYTES, validate_scope
from argosy.platform.objects.base import ObjectInfo, ObjectStore, not_found

__all__ = ["S3ObjectStore"]

log = structlog.get_logger("argosy.objects.s3")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING = frozenset({"NoSuchKey", "NotFound", "404"})
_DENIED = frozenset({"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})
_BUCKET_MISSING = frozenset({"NoSuchBucket", "NotFound", "404"})


class S3ObjectStore(ObjectStore):
    kind = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        base_prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(prefix=prefix)
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.base_prefix = validate_scope(base_prefix.strip("/")) if base_prefix.strip("/") else ""
        self.create_bucket = create_bucket
        self._root = f"{self.base_prefix}/{self.prefix}" if self.base_prefix else self.prefix
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = None
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        where = self.endpoint_url or "aws"
        return f"S3ObjectStore({where}, bucket={self.bucket!r}, root={self._root!r})"

    async def connect(self) -> None:
        if self._client is not None:
            return
        stack = AsyncExitStack()
        try:
            with self._errors():
                client = await stack.enter_async_context(
                    _session().create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=self._access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        config=self._config,
                    )
                )
                await self._ensure_bucket(client)
        except BaseException:
            await stack.aclose()
            raise
        self._client, self._stack = client, stack
        log.info("objects.connected", kind=self.kind, endpoint=self.endpoint_url,
                 bucket=self.bucket, root=self._root)

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def check(self) -> None:
        client = self._require_client()
        with self._errors():
            await client.head_bucket(Bucket=self.bucket)

    async def _put(
        self, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> ObjectInfo:
        client = self._require_client()
        with self._errors(key):
            await client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data,
                ContentType=content_type, Metadata=metadata,
            )
        # The server's clock and ETag are the truth, as later `stat` calls will see them.
        return await self._stat(key)

    async def _get(self, key: str) -> bytes:
        client = self._require_client()
        with self._errors(key):
            resp = await client.get_object(Bucket=self.bucket, Key=self._full(key))
            async with resp["Body"] as body:
                data: bytes = await body.read()
        return data

    async def _stat(self, key: str) -> ObjectInfo:
        client = self._require_client()
        with self._errors(key):
            head = await client.head_object(Bucket=self.bucket, Key=self._full(key))
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=str(head.get("ETag", "")).strip('"'),
            modified_ns=_ns(head["LastModified"]),
            content_type=str(head.get("ContentType") or ""),
            metadata=dict(head.get("Metadata") or {}),
        )

    async def _delete(self, key: str) -> None:
        client = self._require_client()
        with self._errors(key):
            await client.delete_object(Bucket=self.bucket, Key=self._full(key))

    async def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        client = self._require_client()
        start = len(self._root) + 1
        infos: list[ObjectInfo] = []
        with self._errors():
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self._root}/{prefix}"
            )
            async for page in pages:
                for obj in page.get("Contents", ()):
                    infos.append(ObjectInfo(
                        key=str(obj["Key"])[start:],
                        size=int(obj["Size"]),
                        etag=str(obj.get("ETag", "")).strip('"'),
                        modified_ns=_ns(obj["LastModified"]),
                    ))
        return infos

    async def _ensure_bucket(self, client: Any) -> None:
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in _BUCKET_MISSING:
                raise
        if not self.create_bucket:
            raise Unavailable(
                f"S3 bucket {self.bucket!r} does not exist at {self.endpoint_url or 'aws'}",
                dependency="objects",
            )
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # S3 rejects the default region as a constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await client.create_bucket(**kwargs)
            log.info("objects.bucket_created", bucket=self.bucket, endpoint=self.endpoint_url)
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":  # created meanwhile by a replica
                raise

    def _full(self, key: str) -> str:
        full = f"{self._root}/{key}"
        if len(full.encode("utf-8")) > MAX_KEY_BYTES:
            raise Invalid(f"object key {key!r} is too long with the store prefix", field="key")
        return full

    def _require_client(self) -> Any:
        if self._client is None:
            raise Unavailable("S3 object store is not connected", dependency="objects")
        return self._client

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Missing object -> NotFound; anything else the caller cannot fix -> Unavailable."""
        where = f"S3 bucket {self.bucket!r} at {self.endpoint_url or 'aws'}"
        try:
            yield
        except ClientError as exc:
            code = _code(exc)
            if key is not None and code in _MISSING:
                raise not_found(key) from None
            if code in _DENIED:
                raise Unavailable(f"{where} refused the credentials ({code})",
                                  dependency="objects") from exc
            if code == "NoSuchBucket":
                raise Unavailable(f"{where} does not exist", dependency="objects") from exc
            raise Unavailable(f"{where} failed: {code}", dependency="objects") from exc
        except (BotoCoreError, OSError) as exc:  # OSError covers TimeoutError
            raise Unavailable(f"{where} is unreachable: {exc}", dependency="objects") from exc


@functools.cache
def _session() -> AioSession:
    """One botocore session per process: it keeps the parsed S3 model, which otherwise
    costs ~0.15 s per client. Credentials are given per client, so nothing else is shared."""
    return get_session()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _ns(moment: datetime) -> int:
    """Integer nanoseconds since the epoch, without a float's rounding."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
