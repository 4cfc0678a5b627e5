"""A voice's reference samples as one reference: what engines are fitted to.

A voice holds one or more samples (``voice_samples``). A voice made before samples existed has
no rows: its own reference (``voices.ref_audio_key``) is its one sample, shown with a stable id
(the voice's) until the first change of its samples writes the row (``materialize``). The first
sample's transcript is the voice's ``ref_text`` (so ``PATCH /v1/voices/{id}`` with ``ref_text``
changes it), and the voice's ``ref_*`` columns always describe its first sample.

Engines take one clip (``create_voice_prompt(audio, transcript)``), so several samples are
joined, in order, with ``GAP_S`` of silence between them, at the highest sample rate among
them; the transcript is theirs joined, or None when one of them has none. Kokoro's fitting
embeds the joined speech as one utterance, which averages the speaker embedding over all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, resample
from voxclone.core.types import Audio
from voxclone.db import voice_samples as sample_queries
from voxclone.db.tables import Voice, VoiceSample
from voxclone.storage.base import BlobStore

GAP_S = 0.3
"""Silence between joined samples: a pause, so no word runs into the next clip's."""


def sample_key(voice_id: str, sample_id: str, fmt: str) -> str:
    return f"voices/{voice_id}/samples/{sample_id}.{fmt}"


@dataclass(frozen=True, slots=True)
class Sample:
    """One reference sample of a voice, as services and the API see it."""

    id: str
    voice_id: str
    audio_key: str
    format: str
    duration_s: float
    sample_rate: int
    ref_text: str | None
    ref_text_auto: bool
    position: int
    created_at: datetime
    checks: dict[str, Any] = field(default_factory=dict)
    primary: bool = False
    """The first sample: the voice's own reference (``GET /v1/voices/{id}/reference``)."""


def legacy_sample(voice: Voice) -> Sample:
    """The one sample of a voice that has no sample rows: its own reference."""
    return Sample(
        id=voice.id,
        voice_id=voice.id,
        audio_key=voice.ref_audio_key,
        format=voice.ref_format,
        duration_s=voice.ref_duration_s,
        sample_rate=voice.ref_sample_rate,
        ref_text=voice.ref_text,
        ref_text_auto=voice.ref_text_auto,
        position=0,
        created_at=voice.created_at,
        checks=dict((voice.meta or {}).get("reference_checks") or {}),
        primary=True,
    )


def as_sample(voice: Voice, row: VoiceSample) -> Sample:
    primary = row.audio_key == voice.ref_audio_key
    return Sample(
        id=row.id,
        voice_id=row.voice_id,
        audio_key=row.audio_key,
        format=row.format,
        duration_s=row.duration_s,
        sample_rate=row.sample_rate,
        ref_text=voice.ref_text if primary else row.ref_text,
        ref_text_auto=voice.ref_text_auto if primary else row.ref_text_auto,
        position=row.position,
        created_at=row.created_at,
        checks=dict(row.checks or {}),
        primary=primary,
    )


async def samples_in(session: AsyncSession, voice: Voice) -> list[Sample]:
    """The voice's samples in order (its own reference alone when it has no rows)."""
    rows = await sample_queries.list_samples(session, voice_id=voice.id)
    if not rows:
        return [legacy_sample(voice)]
    return [as_sample(voice, row) for row in rows]


async def materialize(session: AsyncSession, voice: Voice) -> list[VoiceSample]:
    """The voice's sample rows, writing the one for its own reference if it has none yet
    (with the voice's id, so the id shown before stays valid)."""
    rows = await sample_queries.list_samples(session, voice_id=voice.id)
    if rows:
        return rows
    legacy = legacy_sample(voice)
    row = await sample_queries.add_sample(
        session,
        id=legacy.id,
        voice_id=voice.id,
        audio_key=legacy.audio_key,
        format=legacy.format,
        duration_s=legacy.duration_s,
        sample_rate=legacy.sample_rate,
        ref_text=legacy.ref_text,
        ref_text_auto=legacy.ref_text_auto,
        checks=legacy.checks,
        position=0,
    )
    return [row]


def join_samples(parts: list[Audio]) -> Audio:
    """The clips one after the other with ``GAP_S`` of silence between, at the highest rate."""
    if not parts:
        raise ValueError("no samples to join")
    if len(parts) == 1:
        return parts[0]
    rate = max(p.sample_rate for p in parts)
    gap = np.zeros(round(GAP_S * rate), dtype=np.float32)
    pieces: list[Any] = []
    for part in parts:
        if pieces:
            pieces.append(gap)
        pieces.append(resample(part, rate).samples)
    return Audio(np.concatenate(pieces).astype(np.float32), rate)


def joined_transcript(samples: list[Sample]) -> str | None:
    texts = [(s.ref_text or "").strip() for s in samples]
    if not all(texts):
        return None
    return " ".join(texts)


@dataclass(frozen=True, slots=True)
class FitInput:
    audio: Audio
    transcript: str | None
    samples: list[Sample]


class VoiceReferences:
    """Reads a voice's samples and joins them into the reference its engines are given."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], blobs: BlobStore) -> None:
        self._sessions = sessions
        self._blobs = blobs

    async def samples(self, voice: Voice) -> list[Sample]:
        async with self._sessions() as session:
            return await samples_in(session, voice)

    async def fit_input(self, voice: Voice) -> FitInput:
        """The voice's samples joined, and their transcript (see the module's docstring)."""
        samples = await self.samples(voice)
        parts = [decode_audio(await self._blobs.get(s.audio_key)).audio for s in samples]
        return FitInput(join_samples(parts), joined_transcript(samples), samples)
