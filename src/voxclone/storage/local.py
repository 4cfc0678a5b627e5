"""Blobs as files under one root directory (the embedded default).

A key ``voices/abc/ref.wav`` is the file ``ROOT/voices/abc/ref.wav``. Writes go to a temporary
file in the same directory (named ``.NAME.*.tmp``, which no valid key can name) and are then
renamed over the target, so a reader sees the old blob or the new one, never a partial file.
Files are created readable by the owner only. All file I/O runs in worker threads.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from voxclone.core.errors import StorageError
from voxclone.storage.base import validate_key

TEMP_SUFFIX = ".tmp"
T = TypeVar("T")


class LocalBlobStore:
    """A ``BlobStore`` on the local file system, rooted at ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """The file for ``key``; ValueError for an invalid key or one that leaves the root.

        Resolves symbolic links, so it touches the file system: call it off the event loop.
        """
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"blob key {key!r} resolves outside the store")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await self._run(_write_atomically(bytes(data)), key)

    async def get(self, key: str) -> bytes:
        return await self._run(_read, key)

    def stream(self, key: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """Chunks of the blob, read one at a time. Key and chunk size are checked now; a
        missing blob raises ``StorageError`` on the first read, so to answer "not found"
        before a response starts, check ``exists`` first.
        """
        validate_key(key)
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        return self._chunks(key, chunk_size)

    async def _chunks(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        file = await self._run(_open_for_reading, key)
        try:
            while True:
                try:
                    chunk = await asyncio.to_thread(file.read, chunk_size)
                except OSError as exc:
                    raise _storage_error(exc, key) from exc
                if not chunk:
                    return
                yield chunk
        finally:
            file.close()

    async def exists(self, key: str) -> bool:
        return await self._run(_is_file, key)

    async def size(self, key: str) -> int:
        return await self._run(_size, key)

    async def delete(self, key: str) -> None:
        await self._run(_delete, key)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under ``prefix/`` (the whole directory); returns how many."""
        return await self._run(_remove_tree, prefix.rstrip("/"))

    async def _run(self, operation: Callable[[Path, str], T], key: str) -> T:
        """``operation(path, key)`` in a worker thread; OSError becomes StorageError."""
        validate_key(key)

        def run() -> T:
            return operation(self.path_for(key), key)

        try:
            return await asyncio.to_thread(run)
        except StorageError:
            raise
        except OSError as exc:
            raise _storage_error(exc, key) from exc


def _read(path: Path, key: str) -> bytes:
    return path.read_bytes()


def _open_for_reading(path: Path, key: str) -> BinaryIO:
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    return path.open("rb")


def _is_file(path: Path, key: str) -> bool:
    return path.is_file()


def _size(path: Path, key: str) -> int:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
    return info.st_size


def _delete(path: Path, key: str) -> None:
    if not path.is_dir():  # a "directory key" holds no blob of its own
        path.unlink(missing_ok=True)


def _write_atomically(data: bytes) -> Callable[[Path, str], None]:
    def write(path: Path, key: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX
            )
        except OSError as exc:
            raise _write_error(exc, key) from exc
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, path)
        except BaseException as exc:
            Path(temp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _write_error(exc, key) from exc
            raise

    return write


def _remove_tree(path: Path, key: str) -> int:
    if not path.is_dir():
        return 0
    count = sum(
        1
        for _, _, files in os.walk(path)
        for name in files
        if not (name.startswith(".") and name.endswith(TEMP_SUFFIX))
    )
    shutil.rmtree(path)
    return count


def _storage_error(exc: OSError, key: str) -> StorageError:
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return StorageError(f"blob {key!r} not found", key=key)
    return StorageError(f"cannot access blob {key!r}: {exc.strerror or exc}", key=key)


def _write_error(exc: OSError, key: str) -> StorageError:
    return StorageError(f"cannot write blob {key!r}: {exc.strerror or exc}", key=key)
