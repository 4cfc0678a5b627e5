from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db import cache
from voxclone.db.tables import Voice, utcnow


@pytest.fixture
async def voice(session: AsyncSession, make_key, make_voice) -> Voice:
    key = await make_key()
    made: Voice = await make_voice(key_id=key.id)
    return made


async def _put(session: AsyncSession, cache_key: str, voice_id: str, audio_key: str) -> bool:
    return await cache.put_entry(
        session,
        cache_key=cache_key,
        voice_id=voice_id,
        backend="piper",
        audio_key=audio_key,
        audio_duration_s=1.5,
        synthesis_ms=120,
    )


async def test_put_then_get(session: AsyncSession, voice: Voice):
    assert await cache.get_entry(session, cache_key="k" * 64) is None
    assert await _put(session, "k" * 64, voice.id, "voices/v/cache/k.wav") is True
    entry = await cache.get_entry(session, cache_key="k" * 64)
    assert entry is not None
    assert (entry.voice_id, entry.backend, entry.audio_key) == (
        voice.id,
        "piper",
        "voices/v/cache/k.wav",
    )
    assert (entry.audio_duration_s, entry.synthesis_ms, entry.hits, entry.last_hit_at) == (
        1.5,
        120,
        0,
        None,
    )
    assert entry.created_at.tzinfo == UTC


async def test_a_second_put_is_ignored(session: AsyncSession, voice: Voice):
    assert await _put(session, "k" * 64, voice.id, "first.wav") is True
    await session.commit()
    assert await _put(session, "k" * 64, voice.id, "second.wav") is False
    await session.commit()
    entry = await cache.get_entry(session, cache_key="k" * 64)
    assert entry is not None and entry.audio_key == "first.wav"


async def test_record_hit_counts_and_stamps(session: AsyncSession, voice: Voice):
    await _put(session, "k" * 64, voice.id, "a.wav")
    entry = await cache.get_entry(session, cache_key="k" * 64)
    assert entry is not None
    before = utcnow()
    assert await cache.record_hit(session, cache_key="k" * 64) is True
    assert await cache.record_hit(session, cache_key="k" * 64) is True
    assert entry.hits == 2  # the loaded entry is re-read
    assert entry.last_hit_at is not None and entry.last_hit_at >= before
    assert await cache.record_hit(session, cache_key="x" * 64) is False


async def test_list_and_delete_entries_of_a_voice(session: AsyncSession, voice: Voice, make_voice):
    other = await make_voice(key_id=voice.key_id)
    for i, name in enumerate("abc"):
        await _put(session, name * 64, voice.id, f"{name}.wav")
        entry = await cache.get_entry(session, cache_key=name * 64)
        assert entry is not None
        entry.created_at = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(minutes=i)
    await _put(session, "z" * 64, other.id, "z.wav")
    listed = await cache.list_entries_for_voice(session, voice_id=voice.id)
    assert [e.audio_key for e in listed] == ["c.wav", "b.wav", "a.wav"]  # oldest first
    assert await cache.delete_entries_for_voice(session, voice_id=voice.id) == 3
    assert await cache.list_entries_for_voice(session, voice_id=voice.id) == []
    assert [
        e.audio_key for e in await cache.list_entries_for_voice(session, voice_id=other.id)
    ] == ["z.wav"]


async def test_delete_one_entry(session: AsyncSession, voice: Voice):
    await _put(session, "k" * 64, voice.id, "a.wav")
    assert await cache.delete_entry(session, cache_key="k" * 64) is True
    assert await cache.get_entry(session, cache_key="k" * 64) is None
    assert await cache.delete_entry(session, cache_key="k" * 64) is False


async def test_record_hit_adds_a_batch_and_never_moves_the_time_back(
    session: AsyncSession, voice: Voice
):
    await _put(session, "k" * 64, voice.id, "a.wav")
    later = datetime(2030, 1, 2, tzinfo=UTC)
    assert await cache.record_hit(session, cache_key="k" * 64, count=5, at=later)
    assert await cache.record_hit(session, cache_key="k" * 64, count=2, at=later - timedelta(1))
    entry = await cache.get_entry(session, cache_key="k" * 64)
    assert entry is not None and (entry.hits, entry.last_hit_at) == (7, later)
