"""Queries on generation history. Flush, never commit (see ``voxclone.db``).

An item's ``audio_key`` may be shared: with the synthesis cache (the cached file), with other
items (the same cache hit served twice) and with story clips. ``blob_in_use`` says whether a
blob is still needed by any of them, so a blob is deleted only by whoever drops its last use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import ApiKey, CacheEntry, HistoryItem, Job, StoryClip


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What a listing keeps: every field None keeps everything."""

    search: str | None = None
    """A case-insensitive substring of the text."""
    voice_id: str | None = None
    backend: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    starred: bool | None = None


async def add_item(session: AsyncSession, **fields: Any) -> HistoryItem:
    item = HistoryItem(**fields)
    session.add(item)
    await session.flush()
    return item


async def get_item(
    session: AsyncSession, *, history_id: str, key_id: str | None = None
) -> HistoryItem | None:
    """The item, freshly read; with ``key_id``, only if it belongs to that key."""
    item = await session.get(HistoryItem, history_id, populate_existing=True)
    if item is None or (key_id is not None and item.key_id != key_id):
        return None
    return item


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(key_id: str, f: HistoryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [HistoryItem.key_id == key_id]
    if f.search:
        pattern = f"%{_escape_like(f.search.lower())}%"
        where.append(func.lower(HistoryItem.text).like(pattern, escape="\\"))
    if f.voice_id is not None:
        where.append(HistoryItem.voice_id == f.voice_id)
    if f.backend is not None:
        where.append(HistoryItem.backend == f.backend)
    if f.since is not None:
        where.append(HistoryItem.created_at >= f.since)
    if f.until is not None:
        where.append(HistoryItem.created_at < f.until)
    if f.starred is not None:
        where.append(HistoryItem.starred.is_(f.starred))
    return where


async def list_items(
    session: AsyncSession,
    *,
    key_id: str,
    filter: HistoryFilter,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[HistoryItem]:
    """The key's items, newest first, after the cursor ``(created_at, id)``; up to ``limit``."""
    where = _conditions(key_id, filter)
    if after is not None:
        at, last_id = after
        where.append(
            or_(
                HistoryItem.created_at < at,
                and_(HistoryItem.created_at == at, HistoryItem.id < last_id),
            )
        )
    query = (
        select(HistoryItem)
        .where(*where)
        .order_by(HistoryItem.created_at.desc(), HistoryItem.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def find_by_job(session: AsyncSession, *, key_id: str, job_id: str) -> HistoryItem | None:
    query = select(HistoryItem).where(HistoryItem.key_id == key_id, HistoryItem.job_id == job_id)
    return (await session.execute(query.limit(1))).scalars().first()


async def get_items(session: AsyncSession, *, key_id: str, ids: Sequence[str]) -> list[HistoryItem]:
    """The key's items among ``ids`` (others' and missing ids are left out), in ``ids`` order."""
    if not ids:
        return []
    query = select(HistoryItem).where(HistoryItem.key_id == key_id, HistoryItem.id.in_(ids))
    found = {item.id: item for item in (await session.execute(query)).scalars()}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def delete_items(session: AsyncSession, *, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    statement = delete(HistoryItem).where(HistoryItem.id.in_(ids))
    options = {"synchronize_session": False}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount


async def find_by_sha256(session: AsyncSession, *, sha256: str) -> list[HistoryItem]:
    """Every key's items whose audio has these bytes (provenance), oldest first."""
    statement = (
        select(HistoryItem)
        .where(HistoryItem.audio_sha256 == sha256)
        .order_by(HistoryItem.created_at)
        .limit(100)
    )
    return list((await session.execute(statement)).scalars())


async def find_by_id_prefix(session: AsyncSession, *, prefix: str) -> list[HistoryItem]:
    """Every key's items whose id starts with the 8 hex digits ``prefix`` (the watermark
    carries them), oldest first. LIKE, not a range: a database collation may order "-"
    anywhere."""
    statement = (
        select(HistoryItem)
        .where(HistoryItem.id.like(f"{prefix}-%"))
        .order_by(HistoryItem.created_at)
        .limit(100)
    )
    return list((await session.execute(statement)).scalars())


async def set_sha256(session: AsyncSession, *, history_id: str, sha256: str) -> None:
    statement = update(HistoryItem).where(HistoryItem.id == history_id).values(audio_sha256=sha256)
    await session.execute(statement, execution_options={"synchronize_session": False})


async def set_starred(session: AsyncSession, *, history_id: str, starred: bool) -> None:
    statement = update(HistoryItem).where(HistoryItem.id == history_id).values(starred=starred)
    await session.execute(statement, execution_options={"synchronize_session": False})


async def used_by_stories(session: AsyncSession, *, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` that a story clip refers to."""
    if not ids:
        return set()
    query = select(StoryClip.history_id).where(StoryClip.history_id.in_(ids)).distinct()
    return {i for i in (await session.execute(query)).scalars() if i is not None}


async def blob_in_use(session: AsyncSession, *, audio_key: str) -> bool:
    """Whether the cache, a history item, a story clip or a job still uses the blob."""
    for column in (
        CacheEntry.audio_key,
        HistoryItem.audio_key,
        StoryClip.audio_key,
        Job.audio_key,
    ):
        query = select(func.count()).where(column == audio_key)
        if (await session.execute(query)).scalar_one():
            return True
    return False


async def list_for_voice(session: AsyncSession, *, voice_id: str) -> list[HistoryItem]:
    query = select(HistoryItem).where(HistoryItem.voice_id == voice_id)
    return list((await session.execute(query)).scalars())


async def move_audio(session: AsyncSession, *, old_key: str, new_key: str) -> None:
    """Point every history item and story clip that used ``old_key`` at ``new_key``."""
    options = {"synchronize_session": False}
    for table in (HistoryItem, StoryClip):
        statement = update(table).where(table.audio_key == old_key).values(audio_key=new_key)
        await session.execute(statement, execution_options=options)


async def mark_voice_deleted(session: AsyncSession, *, voice_id: str) -> None:
    statement = (
        update(HistoryItem).where(HistoryItem.voice_id == voice_id).values(voice_deleted=True)
    )
    await session.execute(statement, execution_options={"synchronize_session": False})


# --- retention -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRetention:
    key_id: str
    max_age_days: int | None
    max_bytes: int | None


async def keys_with_history(session: AsyncSession) -> list[KeyRetention]:
    """Every key that has history, with its own retention (None: the server's)."""
    query = select(ApiKey.id, ApiKey.history_max_age_days, ApiKey.history_max_bytes).where(
        ApiKey.id.in_(select(HistoryItem.key_id).distinct())
    )
    return [KeyRetention(*row) for row in (await session.execute(query)).all()]


async def expendable(
    session: AsyncSession, *, key_id: str, created_before: datetime | None = None, limit: int
) -> list[HistoryItem]:
    """The key's items the sweeper may delete, oldest first: not starred, no story clip
    refers to them; with ``created_before``, only those older than it."""
    clip_ids = select(StoryClip.history_id).where(StoryClip.history_id.is_not(None))
    where: list[ColumnElement[bool]] = [
        HistoryItem.key_id == key_id,
        HistoryItem.starred.is_(False),
        HistoryItem.id.not_in(clip_ids),
    ]
    if created_before is not None:
        where.append(HistoryItem.created_at < created_before)
    query = (
        select(HistoryItem)
        .where(*where)
        .order_by(HistoryItem.created_at, HistoryItem.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def total_bytes(session: AsyncSession, *, key_id: str) -> int:
    query = select(func.coalesce(func.sum(HistoryItem.audio_bytes), 0)).where(
        HistoryItem.key_id == key_id
    )
    return int((await session.execute(query)).scalar_one())
