"""History items written in batches: the item of every synchronous synthesis served.

An INSERT and commit per request would cost more than everything else a cache hit does, and
on a miss in front of a fast provider as much as the rest of the gateway (docs/decisions.md).
These items are held in memory and written together within ``flush_s`` (at once when
``max_rows`` are held), and before anything reads the history, so a client never misses one.
An item whose audio has no blob yet (caching off, a one-shot clone) is held with its audio,
which is stored just before the batch's rows. Closing writes what is held; a crash loses at
most ``flush_s`` of items (a cache hit's audio stays in the cache).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.db.tables import HistoryItem
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)


class PendingItems:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        *,
        flush_s: float = 1.0,
        max_rows: int = 500,
    ):
        self._sessions = sessions
        self._blobs = blobs
        self._flush_s = flush_s
        self._max_rows = max_rows
        self._rows: list[dict[str, Any]] = []
        self._audio: dict[str, bytes] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    def add(self, row: dict[str, Any], *, audio: bytes | None = None) -> None:
        """Hold one item (``HistoryItem`` columns, all of them) to be written soon; with
        ``audio``, the blob ``row["audio_key"]`` is stored first."""
        self._rows.append(row)
        if audio is not None:
            self._audio[row["audio_key"]] = audio
        if len(self._rows) >= self._max_rows:
            self._write_now()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._flush_s, self._write_now)

    def _write_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def flush(self) -> None:
        """Write what is held now (and wait for a batch already being written)."""
        async with self._lock:
            rows, self._rows = self._rows, []
            audio, self._audio = self._audio, {}
            if not rows:
                return
            try:
                for blob_key, data in audio.items():
                    await self._blobs.put(blob_key, data)
                async with self._sessions() as session:
                    await session.execute(insert(HistoryItem), rows)
                    await session.commit()
            except Exception:
                log.warning("could not write %d history item(s)", len(rows), exc_info=True)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
        await self.flush()
