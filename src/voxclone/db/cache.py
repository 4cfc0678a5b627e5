"""Queries on the synthesis cache. Flush, never commit (see ``voxclone.db``).

An entry maps a cache key (SHA-256 over voice, text, lang, backend, parameters and engine
version) to stored audio. Entries are written once and never changed, apart from hit counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import CacheEntry, utcnow


async def get_entry(session: AsyncSession, *, cache_key: str) -> CacheEntry | None:
    return await session.get(CacheEntry, cache_key)


async def put_entry(
    session: AsyncSession,
    *,
    cache_key: str,
    voice_id: str,
    backend: str,
    audio_key: str,
    audio_duration_s: float,
    synthesis_ms: int,
) -> bool:
    """Insert an entry unless one exists for ``cache_key``; True when this call inserted it.

    When it returns False the existing entry (another job's audio) stays as it was.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CacheEntry)
        .values(
            cache_key=cache_key,
            voice_id=voice_id,
            backend=backend,
            audio_key=audio_key,
            audio_duration_s=audio_duration_s,
            synthesis_ms=synthesis_ms,
            hits=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[CacheEntry.cache_key])
        .returning(CacheEntry.cache_key)
    )
    result = await session.execute(statement)
    return result.first() is not None


async def record_hit(
    session: AsyncSession, *, cache_key: str, count: int = 1, at: datetime | None = None
) -> bool:
    """Count ``count`` hits (``hits + count``, ``last_hit_at`` = ``at`` or now).

    False if there is no such entry. ``last_hit_at`` never moves back in time.
    """
    at = at or utcnow()
    last = case(
        (CacheEntry.last_hit_at.is_(None), at),
        (CacheEntry.last_hit_at < at, at),
        else_=CacheEntry.last_hit_at,
    )
    statement = (
        update(CacheEntry)
        .where(CacheEntry.cache_key == cache_key)
        .values(hits=CacheEntry.hits + count, last_hit_at=last)
        .returning(CacheEntry.cache_key)
    )
    result = await session.execute(statement, execution_options={"synchronize_session": False})
    changed = result.first() is not None
    loaded = session.identity_map.get(session.identity_key(CacheEntry, cache_key))
    if loaded is not None:
        await session.refresh(loaded)
    return changed


async def delete_entry(session: AsyncSession, *, cache_key: str) -> bool:
    """Delete one entry (not its blob); False if there was none."""
    statement = delete(CacheEntry).where(CacheEntry.cache_key == cache_key)
    options = {"synchronize_session": "fetch"}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0


async def list_entries_for_voice(session: AsyncSession, *, voice_id: str) -> list[CacheEntry]:
    """The voice's entries, oldest first (their ``audio_key`` blobs go when the voice goes)."""
    query = (
        select(CacheEntry)
        .where(CacheEntry.voice_id == voice_id)
        .order_by(CacheEntry.created_at, CacheEntry.cache_key)
    )
    return list((await session.execute(query)).scalars())


async def delete_entries_for_voice(session: AsyncSession, *, voice_id: str) -> int:
    """Delete the voice's entries (not their blobs); returns how many went."""
    statement = delete(CacheEntry).where(CacheEntry.voice_id == voice_id)
    options = {"synchronize_session": "fetch"}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount
