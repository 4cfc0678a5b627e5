"""The in-memory state of the hot path: a write through any ORM session of this process is seen
at once (the epochs), a write this process cannot see waits for the TTL, and the memory of
cached audio keeps to its byte budget. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from voxclone.db import keys as key_queries
from voxclone.db.tables import ApiKey
from voxclone.services.container import Services
from voxclone.services.keys import KeyService
from voxclone.services.state_cache import CACHE, bump, epoch
from voxclone.services.synthesis.cache import MemoryIndex
from voxclone.services.synthesis_request import SynthesizedAudio


async def test_an_orm_write_anywhere_in_the_process_is_seen_at_once(services: Services) -> None:
    await services.start(run_jobs=False)
    try:
        keys = KeyService(sessions=services.sessions, admin_key="vxadmin_x", cache_s=60)
        issued = await keys.create(label="a")
        assert (await keys.authenticate(issued.secret)).rate_limit_per_minute is None
        # Not through KeyService (which would drop its own entry): any session of the process.
        async with services.sessions() as session:
            await key_queries.update_key(session, key_id=issued.record.id, rate_limit_per_minute=7)
            await session.commit()
        assert (await keys.authenticate(issued.secret)).rate_limit_per_minute == 7
    finally:
        await services.close()


async def test_a_write_from_elsewhere_waits_for_the_ttl(services: Services) -> None:
    await services.start(run_jobs=False)
    try:
        keys = KeyService(sessions=services.sessions, admin_key="vxadmin_x", cache_s=0.3)
        issued = await keys.create(label="b")
        assert (await keys.authenticate(issued.secret)).rate_limit_per_minute is None
        other = create_async_engine(services.settings.resolved_database_url)
        try:
            async with other.begin() as connection:
                await connection.execute(
                    update(ApiKey.__table__)
                    .where(ApiKey.__table__.c.id == issued.record.id)
                    .values(rate_limit_per_minute=9)
                )
        finally:
            await other.dispose()
        assert (await keys.authenticate(issued.secret)).rate_limit_per_minute is None
        await asyncio.sleep(0.35)
        assert (await keys.authenticate(issued.secret)).rate_limit_per_minute == 9
    finally:
        await services.close()


def audio(size: int) -> SynthesizedAudio:
    return SynthesizedAudio(
        data=b"\0" * size,
        media_type="audio/wav",
        duration_s=1.0,
        voice_id="v",
        backend="piper",
        synthesis_ms=1,
        cache_hit=True,
    )


def test_memory_index_keeps_to_its_budget_and_forgets_on_a_deleted_entry() -> None:
    memory = MemoryIndex(ttl_s=60, max_bytes=1000)
    for name in "abcd":
        memory.put(name, audio(240), read_at=epoch(CACHE))
    memory.put("e", audio(240), read_at=epoch(CACHE))  # a, the least recently used, goes
    assert memory.get("a") is None
    assert all(memory.get(name) is not None for name in "bcde")
    memory.put("huge", audio(600), read_at=epoch(CACHE))  # over a quarter: never kept
    assert memory.get("huge") is None
    stale = epoch(CACHE)
    bump(CACHE)  # a cache entry was deleted in this process
    assert memory.get("b") is None
    memory.put("f", audio(10), read_at=stale)  # read before the deletion: not trusted
    assert memory.get("f") is None
