"""Queries on the reference samples of voices. Flush, never commit (see ``voxclone.db``).

Samples are reached through their voice: look the voice up owner-scoped first
(``voices.get_voice``), then pass its id here. A voice made before samples existed has no rows;
``services.voice_references`` treats its own reference as its one sample until it gets them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import VoiceSample


async def add_sample(
    session: AsyncSession,
    *,
    id: str,
    voice_id: str,
    audio_key: str,
    format: str,
    duration_s: float,
    sample_rate: int,
    position: int,
    ref_text: str | None = None,
    ref_text_auto: bool = False,
    checks: dict[str, Any] | None = None,
) -> VoiceSample:
    sample = VoiceSample(
        id=id,
        voice_id=voice_id,
        audio_key=audio_key,
        format=format,
        duration_s=duration_s,
        sample_rate=sample_rate,
        ref_text=ref_text,
        ref_text_auto=ref_text_auto,
        checks=dict(checks or {}),
        position=position,
    )
    session.add(sample)
    await session.flush()
    return sample


async def list_samples(session: AsyncSession, *, voice_id: str) -> list[VoiceSample]:
    """The voice's samples in order (``position``, then age)."""
    query = (
        select(VoiceSample)
        .where(VoiceSample.voice_id == voice_id)
        .order_by(VoiceSample.position, VoiceSample.created_at, VoiceSample.id)
    )
    return list((await session.execute(query)).scalars())


async def get_sample(session: AsyncSession, *, voice_id: str, sample_id: str) -> VoiceSample | None:
    """The sample if it exists and belongs to ``voice_id``; otherwise None."""
    sample = await session.get(VoiceSample, sample_id)
    if sample is None or sample.voice_id != voice_id:
        return None
    return sample


async def count_samples(session: AsyncSession, *, voice_id: str) -> int:
    query = select(func.count()).select_from(VoiceSample).where(VoiceSample.voice_id == voice_id)
    return int((await session.execute(query)).scalar_one())


async def delete_sample(session: AsyncSession, *, voice_id: str, sample_id: str) -> bool:
    """Delete the sample of ``voice_id``; False when there was none. Its blob is the caller's."""
    statement = delete(VoiceSample).where(
        VoiceSample.id == sample_id, VoiceSample.voice_id == voice_id
    )
    result = await session.execute(statement, execution_options={"synchronize_session": "fetch"})
    return bool(getattr(result, "rowcount", 0))
