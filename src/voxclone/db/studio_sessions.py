"""Queries on studio sessions. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import StudioSession


async def create_session(
    session: AsyncSession, *, id: str, key_hash: str, csrf_token: str, expires_at: datetime
) -> StudioSession:
    record = StudioSession(id=id, key_hash=key_hash, csrf_token=csrf_token, expires_at=expires_at)
    session.add(record)
    await session.flush()
    return record


async def get_session(session: AsyncSession, *, id: str) -> StudioSession | None:
    return (
        await session.execute(select(StudioSession).where(StudioSession.id == id))
    ).scalar_one_or_none()


async def delete_session(session: AsyncSession, *, id: str) -> None:
    await session.execute(delete(StudioSession).where(StudioSession.id == id))


async def delete_expired(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(delete(StudioSession).where(StudioSession.expires_at <= now))
