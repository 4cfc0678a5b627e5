"""Queries on speakers and their enrollments. Flush, never commit (see ``voxclone.db``).

Every speaker belongs to one API key; the functions that take ``key_id`` never return, change
or delete another key's speaker. Enrollments are reached through their speaker only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import Speaker, SpeakerEnrollment


async def create_speaker(
    session: AsyncSession, *, id: str, key_id: str, name: str, meta: dict[str, Any] | None = None
) -> Speaker:
    speaker = Speaker(
        id=id,
        key_id=key_id,
        name=name,
        meta=dict(meta or {}),
        embedding=None,
        enrollment_count=0,
        speech_s=0.0,
    )
    session.add(speaker)
    await session.flush()
    return speaker


async def get_speaker(
    session: AsyncSession, *, speaker_id: str, key_id: str, for_update: bool = False
) -> Speaker | None:
    """The speaker if it exists and belongs to ``key_id``; otherwise None.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; SQLite serialises
    writers anyway), so two enrollments of one speaker recompute its print one after the other.
    """
    query = select(Speaker).where(Speaker.id == speaker_id, Speaker.key_id == key_id)
    if for_update:
        query = query.with_for_update()
    query = query.execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_speakers(
    session: AsyncSession, *, key_id: str, limit: int = 100, offset: int = 0
) -> list[Speaker]:
    """``key_id``'s speakers, newest first."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative, got {limit=} {offset=}")
    query = (
        select(Speaker)
        .where(Speaker.key_id == key_id)
        .order_by(Speaker.created_at.desc(), Speaker.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def list_enrolled_speakers(
    session: AsyncSession, *, key_id: str, speaker_ids: Sequence[str] | None = None
) -> list[Speaker]:
    """``key_id``'s speakers that have a print (at least one enrollment); with
    ``speaker_ids``, only those of them (ids of other keys are silently not found)."""
    query = select(Speaker).where(Speaker.key_id == key_id, Speaker.enrollment_count > 0)
    if speaker_ids is not None:
        query = query.where(Speaker.id.in_(list(speaker_ids)))
    query = query.order_by(Speaker.created_at, Speaker.id)
    return [s for s in (await session.execute(query)).scalars() if s.embedding is not None]


async def set_print(
    session: AsyncSession,
    *,
    speaker: Speaker,
    embedding: list[float] | None,
    enrollment_count: int,
    speech_s: float,
) -> Speaker:
    """Store a recomputed print (``speaker`` must be loaded in this session)."""
    speaker.embedding = embedding
    speaker.enrollment_count = enrollment_count
    speaker.speech_s = speech_s
    await session.flush()
    return speaker


async def delete_speaker(session: AsyncSession, *, speaker: Speaker) -> bool:
    """Delete the speaker; its enrollments go with it (ON DELETE CASCADE, and explicitly for
    SQLite connections without foreign keys). Blobs are the caller's business."""
    await session.execute(
        delete(SpeakerEnrollment).where(SpeakerEnrollment.speaker_id == speaker.id),
        execution_options={"synchronize_session": False},
    )
    statement = delete(Speaker).where(Speaker.id == speaker.id)
    options = {"synchronize_session": "fetch"}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0


async def add_enrollment(
    session: AsyncSession,
    *,
    id: str,
    speaker_id: str,
    embedding: list[float],
    audio_key: str,
    duration_s: float,
    speech_s: float,
) -> SpeakerEnrollment:
    enrollment = SpeakerEnrollment(
        id=id,
        speaker_id=speaker_id,
        embedding=embedding,
        audio_key=audio_key,
        duration_s=duration_s,
        speech_s=speech_s,
    )
    session.add(enrollment)
    await session.flush()
    return enrollment


async def list_enrollments(session: AsyncSession, *, speaker_id: str) -> list[SpeakerEnrollment]:
    """The speaker's enrollments, oldest first (look the speaker up owner-scoped first)."""
    query = (
        select(SpeakerEnrollment)
        .where(SpeakerEnrollment.speaker_id == speaker_id)
        .order_by(SpeakerEnrollment.created_at, SpeakerEnrollment.id)
    )
    return list((await session.execute(query)).scalars())


async def get_enrollment(
    session: AsyncSession, *, speaker_id: str, enrollment_id: str
) -> SpeakerEnrollment | None:
    enrollment = await session.get(SpeakerEnrollment, enrollment_id)
    if enrollment is None or enrollment.speaker_id != speaker_id:
        return None
    return enrollment


async def delete_enrollment(session: AsyncSession, *, enrollment: SpeakerEnrollment) -> bool:
    statement = delete(SpeakerEnrollment).where(SpeakerEnrollment.id == enrollment.id)
    options = {"synchronize_session": "fetch"}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0
