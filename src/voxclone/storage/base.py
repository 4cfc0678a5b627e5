"""Where audio blobs live: the BlobStore protocol and key rules.

Keys are relative, slash-separated paths built by voxclone itself (``voices/{id}/ref.wav``),
never from a client's file name. ``validate_key`` refuses anything else.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


def validate_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid blob key {key!r}")
    return key


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, atomically."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole blob; raises ``StorageError`` when it is missing."""
        ...

    def stream(self, key: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The blob in chunks, without loading it whole; raises ``StorageError`` if missing."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int:
        """Size in bytes; raises ``StorageError`` when missing."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key under ``prefix/``; returns how many were removed."""
        ...
