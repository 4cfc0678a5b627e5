"""Cache hits are counted in memory and written in batches (services/cache_hits.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.db import cache
from voxclone.db.tables import Voice
from voxclone.services.cache_hits import HitCounter


async def _entry(sessions: async_sessionmaker[AsyncSession], key: str) -> tuple[int, bool]:
    async with sessions() as session:
        entry = await cache.get_entry(session, cache_key=key)
        assert entry is not None
        return entry.hits, entry.last_hit_at is not None


async def _cached_voice(session: AsyncSession, make_key, make_voice, key: str) -> Voice:  # type: ignore[no-untyped-def]
    voice: Voice = await make_voice(key_id=(await make_key()).id)
    await cache.put_entry(
        session,
        cache_key=key,
        voice_id=voice.id,
        backend="piper",
        audio_key="a.wav",
        audio_duration_s=1.0,
        synthesis_ms=10,
    )
    await session.commit()
    return voice


async def test_hits_are_written_once_per_interval(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], make_key, make_voice
):
    await _cached_voice(session, make_key, make_voice, "a" * 64)
    counter = HitCounter(session_factory, interval_s=0.2)
    for _ in range(3):
        counter.note("a" * 64)
    assert counter.pending == 3
    assert await _entry(session_factory, "a" * 64) == (0, False)  # nothing written yet
    for _ in range(50):
        await asyncio.sleep(0.05)
        if counter.pending == 0 and (await _entry(session_factory, "a" * 64))[0] == 3:
            break
    assert await _entry(session_factory, "a" * 64) == (3, True)
    await counter.close()


async def test_close_writes_what_is_pending_and_unknown_keys_are_harmless(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], make_key, make_voice
):
    await _cached_voice(session, make_key, make_voice, "b" * 64)
    counter = HitCounter(session_factory, interval_s=3600)
    counter.note("b" * 64)
    counter.note("b" * 64)
    counter.note("gone" * 16)  # its entry was deleted meanwhile
    await counter.close()
    assert counter.pending == 0
    assert await _entry(session_factory, "b" * 64) == (2, True)
