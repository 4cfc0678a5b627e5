"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, ...): the distributed default.

A key ``voices/abc/ref.wav`` is the object ``PREFIX/voices/abc/ref.wav`` in the bucket. A put
is one ``PutObject``, which S3 makes visible all at once, so readers never see a partial blob.
Reads stream: ``stream`` hands the response body on chunk by chunk, so an audio download never
holds the whole file in memory.

boto3 is synchronous; every call runs in a worker thread (boto3 clients are thread-safe). It
comes with ``pip install 'voxclone[distributed]'`` and is imported when the store is first
used. botocore's errors become ``StorageError`` here, the one place that calls it.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from voxclone.core.errors import StorageError
from voxclone.storage.base import validate_key

T = TypeVar("T")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"s3:// storage needs {module.split('.')[0]!r}: pip install 'voxclone[distributed]'",
            name=exc.name,
        ) from exc


class S3BlobStore:
    """A ``BlobStore`` on the bucket ``bucket``, under ``prefix`` (may be empty)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str | None = None,
        max_connections: int = 32,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 blob store needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
        self._addressing_style = addressing_style or ("path" if endpoint_url else "auto")
        self._max_connections = max_connections
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        endpoint = self._client_options["endpoint_url"] or "aws"
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r}, {endpoint=})"

    def object_key(self, key: str) -> str:
        """The object name for blob ``key`` (ValueError for an invalid key)."""
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created on first use."""
        with self._lock:
            if self._client is None:
                boto3 = _require("boto3")
                botocore_config = _require("botocore.config")
                config = botocore_config.Config(
                    s3={"addressing_style": self._addressing_style},
                    max_pool_connections=self._max_connections,
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                )
                session = boto3.session.Session()
                self._client = session.client("s3", config=config, **self._client_options)
            return self._client

    async def put(self, key: str, data: bytes) -> None:
        name = self.object_key(key)
        body = bytes(data)
        await self._run(key, lambda c: c.put_object(Bucket=self.bucket, Key=name, Body=body))

    async def get(self, key: str) -> bytes:
        name = self.object_key(key)

        def read(c: Any) -> bytes:
            body = c.get_object(Bucket=self.bucket, Key=name)["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await self._run(key, read)

    def stream(self, key: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """Chunks of the object as they arrive. Key and chunk size are checked now; a missing
        blob raises ``StorageError`` on the first read (check ``exists`` first to answer 404).
        """
        name = self.object_key(key)
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        return self._chunks(key, name, chunk_size)

    async def _chunks(self, key: str, name: str, chunk_size: int) -> AsyncIterator[bytes]:
        body = await self._run(key, lambda c: c.get_object(Bucket=self.bucket, Key=name)["Body"])
        chunks: Iterator[bytes] = body.iter_chunks(chunk_size)
        try:
            while True:
                chunk = await self._run(key, lambda _c: next(chunks, b""))
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        name = self.object_key(key)
        botocore_exceptions = _require("botocore.exceptions")

        def head(c: Any) -> bool:
            try:
                c.head_object(Bucket=self.bucket, Key=name)
            except botocore_exceptions.ClientError as exc:
                if _error_code(exc) in _MISSING:
                    return False
                raise
            return True

        return await self._run(key, head)

    async def size(self, key: str) -> int:
        name = self.object_key(key)
        head = await self._run(key, lambda c: c.head_object(Bucket=self.bucket, Key=name))
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        name = self.object_key(key)
        await self._run(key, lambda c: c.delete_object(Bucket=self.bucket, Key=name))

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix/``; returns how many."""
        folder = self.object_key(prefix.rstrip("/")) + "/"

        def remove_all(c: Any) -> int:
            removed = 0
            pages = c.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder)
            for page in pages:
                names = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                for start in range(0, len(names), _DELETE_BATCH):
                    batch = names[start : start + _DELETE_BATCH]
                    answer = c.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
                    if answer.get("Errors"):
                        first = answer["Errors"][0]
                        raise StorageError(
                            f"cannot delete blob {first.get('Key')!r}: {first.get('Message')}",
                            key=prefix,
                        )
                    removed += len(batch)
            return removed

        return await self._run(prefix, remove_all)

    async def _run(self, key: str, operation: Callable[[Any], T]) -> T:
        """``operation(client)`` in a worker thread; botocore errors become StorageError."""
        botocore_exceptions = _require("botocore.exceptions")

        def run() -> T:
            return operation(self.client)

        try:
            return await asyncio.to_thread(run)
        except botocore_exceptions.ClientError as exc:
            code = _error_code(exc)
            if code in _MISSING:
                raise StorageError(f"blob {key!r} not found", key=key) from exc
            raise StorageError(f"cannot access blob {key!r}: {code or exc}", key=key) from exc
        except (botocore_exceptions.BotoCoreError, OSError) as exc:
            raise StorageError(f"cannot access blob {key!r}: {exc}", key=key) from exc


def _error_code(exc: Any) -> str:
    """The S3 error code of a botocore ``ClientError`` (``NoSuchKey``, ``404``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))
