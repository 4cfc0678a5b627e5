"""Cache: synthesized audio under its cache key, in the blob store, indexed in the database.

The index and the audio of recent hits are also kept in memory (``MemoryIndex``): a hit asks
neither the database nor the store while its entry is younger than ``memory_s`` and no cache
entry was deleted in this process since (services/state_cache.py). Hits are counted in memory
and written in batches (``HitCounter``).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import media_type
from voxclone.db import cache as cache_queries
from voxclone.services.cache_hits import HitCounter
from voxclone.services.metrics import Metrics
from voxclone.services.state_cache import CACHE, epoch
from voxclone.services.stock_voices import StockVoice
from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)


class MemoryIndex:
    """Recent hits' audio by cache key, at most ``max_bytes`` of it (least recently used goes
    first), each trusted for ``ttl_s`` seconds and until a cache entry is deleted here."""

    def __init__(self, *, ttl_s: float, max_bytes: int) -> None:
        self._ttl_s = ttl_s
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, tuple[SynthesizedAudio, float, int]] = OrderedDict()

    def get(self, key: str) -> SynthesizedAudio | None:
        found = self._entries.get(key)
        if found is None:
            return None
        audio, expiry, seen = found
        if seen != epoch(CACHE) or expiry <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return audio

    def put(self, key: str, audio: SynthesizedAudio, *, read_at: int) -> None:
        size = len(audio.data)
        if self._ttl_s <= 0 or size > self._max_bytes // 4 or read_at != epoch(CACHE):
            return
        self._drop(key)
        while self._entries and self._bytes + size > self._max_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[key] = (audio, time.monotonic() + self._ttl_s, read_at)
        self._bytes += size

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= len(found[0].data)


class SynthesisCache:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        metrics: Metrics,
        enabled: bool = True,
        hit_flush_s: float = 5.0,
        memory_s: float = 0.0,
        memory_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._metrics = metrics
        self.enabled = enabled
        self.hits = HitCounter(sessions, interval_s=hit_flush_s)
        self.memory = MemoryIndex(ttl_s=memory_s, max_bytes=memory_bytes)

    async def close(self) -> None:
        """Write the hits counted in memory."""
        await self.hits.close()

    async def lookup(self, plan: Plan, *, counted: bool = True) -> SynthesizedAudio | None:
        """The cached audio for ``plan``, if any; ``counted`` lookups are a client's request
        (a job looking again before it renders is not)."""
        if not self.enabled:
            return None
        hit = await self._lookup(plan)
        if counted:
            self._metrics.note_cache_lookup(hit=hit is not None)
        return hit

    async def _lookup(self, plan: Plan) -> SynthesizedAudio | None:
        kept = self.memory.get(plan.key)
        if kept is not None:
            self.hits.note(plan.key)
            return kept
        read_at = epoch(CACHE)
        async with self._sessions() as session:
            entry = await cache_queries.get_entry(session, cache_key=plan.key)
            if entry is None:
                return None
        if not await self._blobs.exists(entry.audio_key):
            log.warning("cache entry %s has no audio; dropping it", plan.key)
            async with self._sessions() as session:
                await cache_queries.delete_entry(session, cache_key=plan.key)
                await session.commit()
            return None
        self.hits.note(plan.key)
        hit = SynthesizedAudio(
            data=await self._blobs.get(entry.audio_key),
            media_type=media_type(plan.fmt),
            duration_s=entry.audio_duration_s,
            voice_id=plan.voice.id,
            backend=entry.backend,
            synthesis_ms=entry.synthesis_ms,
            cache_hit=True,
            blob_key=entry.audio_key,
        )
        self.memory.put(plan.key, hit, read_at=read_at)
        return hit

    async def store(self, plan: Plan, result: SynthesizedAudio) -> str | None:
        """Keep ``result`` under the plan's key; the blob's key, or None when caching is off."""
        if not self.enabled:
            return None
        # A stock voice has no folder of its own (its id may hold "+", "(" or ":").
        folder = "stock" if isinstance(plan.voice, StockVoice) else f"voices/{plan.voice.id}"
        blob_key = f"{folder}/cache/{plan.key}.{plan.fmt}"
        await self._blobs.put(blob_key, result.data)
        async with self._sessions() as session:
            await cache_queries.put_entry(
                session,
                cache_key=plan.key,
                voice_id=plan.voice.id,
                backend=plan.engine.name,
                audio_key=blob_key,
                audio_duration_s=result.duration_s,
                synthesis_ms=result.synthesis_ms,
            )
            await session.commit()
        return blob_key
