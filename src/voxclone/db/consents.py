"""Queries on voice consents. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import VoiceConsent


async def add_consent(session: AsyncSession, consent: VoiceConsent) -> VoiceConsent:
    session.add(consent)
    await session.flush()
    return consent


async def get_consent(
    session: AsyncSession, *, consent_id: str, voice_id: str
) -> VoiceConsent | None:
    query = select(VoiceConsent).where(
        VoiceConsent.id == consent_id, VoiceConsent.voice_id == voice_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def latest_pending(session: AsyncSession, *, voice_id: str) -> VoiceConsent | None:
    query = (
        select(VoiceConsent)
        .where(VoiceConsent.voice_id == voice_id, VoiceConsent.status == "pending")
        .order_by(VoiceConsent.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_consents(session: AsyncSession, *, voice_id: str) -> Sequence[VoiceConsent]:
    query = (
        select(VoiceConsent)
        .where(VoiceConsent.voice_id == voice_id)
        .order_by(VoiceConsent.created_at)
    )
    return (await session.execute(query)).scalars().all()
