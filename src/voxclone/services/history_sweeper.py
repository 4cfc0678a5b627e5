"""Retention of generation history: every ``sweep_s``, each key's items past its age or bytes
limit are deleted, oldest first.

A key's own ``history_max_age_days`` / ``history_max_bytes`` replace the server's
(``HistorySettings``) when set. Starred items and items a story clip refers to are never swept;
a blob goes only with its last use (``HistoryService.release``), so audio the cache, another
item, a story clip or a job still uses stays. Bytes are counted per item, as the key sees its
history: an item sharing the cache's blob counts its full size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import HistorySettings
from voxclone.db import history as queries
from voxclone.db.tables import utcnow
from voxclone.services.history import HistoryService
from voxclone.services.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Swept:
    by_age: int
    by_bytes: int


class HistorySweeper:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        history: HistoryService,
        settings: HistorySettings,
        batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self._history = history
        self._settings = settings
        self._batch = batch
        self._loop = Periodic("history-sweeper", self.sweep, settings.sweep_s)

    async def sweep(self) -> Swept:
        """One pass over every key with history."""
        async with self._sessions() as session:
            keys = await queries.keys_with_history(session)
        by_age = by_bytes = 0
        for key in keys:
            max_age = key.max_age_days or self._settings.max_age_days
            max_bytes = key.max_bytes if key.max_bytes is not None else self._settings.max_bytes
            if max_age is not None:
                by_age += await self._sweep_age(key.key_id, max_age)
            if max_bytes is not None:
                by_bytes += await self._sweep_bytes(key.key_id, max_bytes)
        if by_age or by_bytes:
            log.info("history retention deleted %d item(s) by age, %d by size", by_age, by_bytes)
        return Swept(by_age, by_bytes)

    async def _sweep_age(self, key_id: str, max_age_days: int) -> int:
        cutoff = utcnow() - timedelta(days=max_age_days)
        deleted = 0
        while True:
            async with self._sessions() as session:
                items = await queries.expendable(
                    session, key_id=key_id, created_before=cutoff, limit=self._batch
                )
            if not items:
                return deleted
            deleted += len((await self._history.drop(items)).deleted)
            if len(items) < self._batch:
                return deleted

    async def _sweep_bytes(self, key_id: str, max_bytes: int) -> int:
        async with self._sessions() as session:
            excess = await queries.total_bytes(session, key_id=key_id) - max_bytes
            if excess <= 0:
                return 0
            candidates = await queries.expendable(session, key_id=key_id, limit=10 * self._batch)
        chosen = []
        for item in candidates:  # oldest first, until enough is freed
            if excess <= 0:
                break
            chosen.append(item)
            excess -= item.audio_bytes
        return len((await self._history.drop(chosen)).deleted) if chosen else 0

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
