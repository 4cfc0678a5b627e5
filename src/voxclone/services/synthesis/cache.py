"""Cache: synthesized audio under its cache key, in the blob store, indexed in the database.

Hits are counted in memory and written in batches (``HitCounter``).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import media_type
from voxclone.db import cache as cache_queries
from voxclone.services.cache_hits import HitCounter
from voxclone.services.metrics import Metrics
from voxclone.services.stock_voices import StockVoice
from voxclone.services.synthesis.plan import Plan
from voxclone.services.synthesis_request import SynthesizedAudio
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)


class SynthesisCache:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        metrics: Metrics,
        enabled: bool = True,
        hit_flush_s: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._metrics = metrics
        self.enabled = enabled
        self.hits = HitCounter(sessions, interval_s=hit_flush_s)

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
        return SynthesizedAudio(
            data=await self._blobs.get(entry.audio_key),
            media_type=media_type(plan.fmt),
            duration_s=entry.audio_duration_s,
            voice_id=plan.voice.id,
            backend=entry.backend,
            synthesis_ms=entry.synthesis_ms,
            cache_hit=True,
            blob_key=entry.audio_key,
        )

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
