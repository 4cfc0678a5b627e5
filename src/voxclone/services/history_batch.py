"""History items written in batches: the items of cache hits, whose audio is already stored.

A cache hit is voxclone's fastest answer; an INSERT and commit per hit would cost more than
everything else it does (docs/decisions.md). These items are held in memory and written
together within ``flush_s``, and at once before anything reads the history, so a client never
misses one; a crash loses at most ``flush_s`` of them (their audio stays in the cache).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.db.tables import HistoryItem

log = logging.getLogger(__name__)


class PendingItems:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, flush_s: float = 1.0):
        self._sessions = sessions
        self._flush_s = flush_s
        self._rows: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()

    def add(self, row: dict[str, Any]) -> None:
        """Hold one item (``HistoryItem`` columns, all of them) to be written soon."""
        self._rows.append(row)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._flush_s, self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        task.add_done_callback(lambda done: done.exception() if not done.cancelled() else None)

    async def flush(self) -> None:
        """Write what is held now (and wait for a batch already being written)."""
        async with self._lock:
            rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                async with self._sessions() as session:
                    await session.execute(insert(HistoryItem), rows)
                    await session.commit()
            except Exception:
                log.warning("could not write %d history item(s)", len(rows), exc_info=True)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()
