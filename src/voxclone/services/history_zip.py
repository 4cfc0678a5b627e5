"""Several history items as one zip, written as it is read: one item's audio in memory at a
time, never the whole archive.

Members: each item's audio as ``{id}.{format}`` (already compressed formats are stored, WAV
and PCM deflated), and ``manifest.json`` describing every item (text, voice, parameters).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

from voxclone.db.tables import HistoryItem
from voxclone.storage.base import BlobStore

_DEFLATED = {"wav", "pcm"}


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that hands out what was written since last asked."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def member_name(item: HistoryItem) -> str:
    return f"{item.id}.{item.audio_format}"


def manifest_entry(item: HistoryItem) -> dict[str, Any]:
    return {
        "file": member_name(item),
        "history_id": item.id,
        "text": item.text,
        "voice_id": item.voice_id,
        "voice_name": item.voice_name,
        "lang": item.lang,
        "backend": item.backend,
        "params": item.params,
        "duration_s": item.duration_s,
        "created_at": item.created_at.isoformat(),
    }


async def zipped(items: Sequence[HistoryItem], *, blobs: BlobStore) -> AsyncIterator[bytes]:
    """The zip of ``items``' audio and a manifest, piece by piece."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for item in items:
            data = await blobs.get(item.audio_key)
            info = zipfile.ZipInfo(member_name(item), date_time=item.created_at.timetuple()[:6])
            deflate = item.audio_format in _DEFLATED
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            archive.writestr(info, data)
            yield sink.take()
        manifest = json.dumps({"items": [manifest_entry(i) for i in items]}, indent=2)
        archive.writestr("manifest.json", manifest)
    yield sink.take()
