from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import NotFound
from voxclone.core.types import VoiceStatus, new_id
from voxclone.db import cache, jobs, voices
from voxclone.db.tables import Voice


async def test_create_voice_fills_table_defaults(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    voice = await make_voice(key_id=key.id)
    await session.commit()
    session.expunge_all()
    loaded = await voices.get_voice(session, voice_id=voice.id, key_id=key.id)
    assert loaded is not None
    assert (loaded.lang, loaded.family, loaded.ref_text, loaded.ref_text_auto) == (
        "en",
        None,
        None,
        False,
    )
    assert (loaded.status, loaded.progress, loaded.error, loaded.meta) == ("ready", 1.0, None, {})
    assert loaded.created_at.tzinfo == UTC and loaded.updated_at.tzinfo == UTC


async def test_enum_status_is_stored_as_its_value(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    voice = await make_voice(key_id=key.id, status=VoiceStatus.FITTING, progress=0.0)
    assert type(voice.status) is str and voice.status == "fitting"


async def test_voices_are_scoped_to_their_key(session: AsyncSession, make_key, make_voice):
    alice, bob = await make_key(), await make_key()
    voice = await make_voice(key_id=alice.id)
    assert await voices.get_voice(session, voice_id=voice.id, key_id=alice.id) is voice
    assert await voices.get_voice(session, voice_id=voice.id, key_id=bob.id) is None
    assert await voices.get_voice(session, voice_id=new_id(), key_id=alice.id) is None
    assert await voices.list_voices(session, key_id=bob.id) == []
    assert await voices.get_voice_by_name(session, name="narrator", key_id=bob.id) is None


async def _aged(session: AsyncSession, voice_list: list[Voice]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, voice in enumerate(voice_list):
        voice.created_at = start + timedelta(minutes=i)
    await session.flush()


async def test_list_voices_newest_first_with_paging(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    made = [await make_voice(key_id=key.id, name=f"v{i}") for i in range(5)]
    await _aged(session, made)
    names = [v.name for v in await voices.list_voices(session, key_id=key.id)]
    assert names == ["v4", "v3", "v2", "v1", "v0"]
    page = await voices.list_voices(session, key_id=key.id, limit=2, offset=1)
    assert [v.name for v in page] == ["v3", "v2"]
    with pytest.raises(ValueError, match="limit"):
        await voices.list_voices(session, key_id=key.id, limit=-1)


async def test_get_voice_by_name_takes_the_newest(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    older, newer = await make_voice(key_id=key.id), await make_voice(key_id=key.id)
    await _aged(session, [older, newer])
    assert await voices.get_voice_by_name(session, name="narrator", key_id=key.id) is newer
    assert await voices.get_voice_by_name(session, name="nobody", key_id=key.id) is None


async def test_update_voice_writes_only_the_changes(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], make_key, make_voice
):
    key = await make_key()
    voice = await make_voice(key_id=key.id)
    voice.updated_at = datetime(2026, 1, 1, tzinfo=UTC)
    await session.commit()
    # a stale copy from another session, and a concurrent change to another field
    async with session_factory() as other:
        stale = await voices.get_voice(other, voice_id=voice.id, key_id=key.id)
    assert stale is not None
    await voices.update_voice(session, voice=voice, status=VoiceStatus.FAILED, error="x")
    await session.commit()
    async with session_factory() as other:
        updated = await voices.update_voice(other, voice=stale, name="renamed")
        await other.commit()
    assert updated is not stale
    assert (updated.name, updated.status, updated.error) == ("renamed", "failed", "x")
    assert updated.updated_at > datetime(2026, 1, 1, tzinfo=UTC)


async def test_update_voice_refuses_fixed_fields(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    voice = await make_voice(key_id=key.id)
    with pytest.raises(TypeError, match="key_id"):
        await voices.update_voice(session, voice=voice, key_id=new_id())


async def test_update_of_a_deleted_voice_is_not_found(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], make_key, make_voice
):
    key = await make_key()
    voice = await make_voice(key_id=key.id)
    await session.commit()
    await voices.delete_voice(session, voice=voice)
    await session.commit()
    async with session_factory() as other:
        with pytest.raises(NotFound):
            await voices.update_voice(other, voice=voice, name="ghost")


async def test_delete_voice_cascades(session: AsyncSession, make_key, make_voice, make_job):
    key = await make_key()
    voice, kept = await make_voice(key_id=key.id), await make_voice(key_id=key.id)
    await voices.put_prompt(
        session, voice_id=voice.id, engine="piper", engine_version="1", prompt={}
    )
    job = await make_job(key_id=key.id, voice_id=voice.id)
    other_job = await make_job(key_id=key.id, voice_id=kept.id)
    await cache.put_entry(
        session,
        cache_key="c" * 64,
        voice_id=voice.id,
        backend="piper",
        audio_key="a.wav",
        audio_duration_s=1.0,
        synthesis_ms=5,
    )
    await session.commit()

    assert await voices.delete_voice(session, voice=voice) is True
    await session.commit()
    session.expunge_all()
    assert await voices.get_voice(session, voice_id=voice.id, key_id=key.id) is None
    assert await voices.get_prompt(session, voice_id=voice.id, engine="piper") is None
    assert await jobs.get_job(session, job_id=job.id) is None
    assert await cache.get_entry(session, cache_key="c" * 64) is None
    assert await jobs.get_job(session, job_id=other_job.id) is not None
    assert await voices.delete_voice(session, voice=voice) is False


async def test_put_prompt_inserts_then_replaces(session: AsyncSession, make_key, make_voice):
    key = await make_key()
    voice = await make_voice(key_id=key.id)
    assert await voices.get_prompt(session, voice_id=voice.id, engine="local") is None
    first = await voices.put_prompt(
        session, voice_id=voice.id, engine="local", engine_version="1.0", prompt={"mix": [1, 2]}
    )
    assert (first.engine_version, first.prompt) == ("1.0", {"mix": [1, 2]})
    second = await voices.put_prompt(
        session, voice_id=voice.id, engine="local", engine_version="1.1", prompt={"mix": [3]}
    )
    assert second is first  # the same row, refreshed in place
    assert (second.engine_version, second.prompt) == ("1.1", {"mix": [3]})
    await voices.put_prompt(
        session, voice_id=voice.id, engine="piper", engine_version="1", prompt={}
    )
    await session.commit()
    session.expunge_all()
    stored = await voices.get_prompt(session, voice_id=voice.id, engine="local")
    assert stored is not None and stored.prompt == {"mix": [3]}
    assert await voices.delete_prompts(session, voice_id=voice.id) == 2
    assert await voices.get_prompt(session, voice_id=voice.id, engine="local") is None
