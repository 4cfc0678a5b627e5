"""Voice biometrics: enroll speakers, verify a claimed speaker, identify among a key's
speakers. Who speaks when in a longer recording is a job: ``speaker_jobs.py``.

A speaker's print is the unit-length mean of its enrollments' embeddings, weighted by the
seconds of speech in each; it is recomputed whenever an enrollment is added or removed.
Scores are cosine similarities; two voices count as one speaker from ``threshold`` up.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, encode_audio
from voxclone.config import BiometricsSettings
from voxclone.core.errors import (
    InvalidInput,
    MissingField,
    NotFound,
    SpeakerNotEnrolled,
    Unprocessable,
)
from voxclone.core.types import Audio, FloatArray, new_id, parse_id
from voxclone.db import speakers as speaker_queries
from voxclone.db.tables import Speaker, SpeakerEnrollment
from voxclone.engines.base import Embedder
from voxclone.engines.registry import EngineRegistry
from voxclone.services import voiceprints
from voxclone.services.usage import UsageRecord, UsageService
from voxclone.services.voiceprints import SpeechDetector, SpeechPrint
from voxclone.storage.base import BlobStore

MAX_NAME_CHARS = 200
MAX_META_BYTES = 8192
MAX_TOP_K = 100


def enrollment_key(speaker_id: str, enrollment_id: str) -> str:
    return f"enrollments/{speaker_id}/{enrollment_id}.wav"


@dataclass(frozen=True, slots=True)
class Verification:
    speaker_id: str
    score: float
    threshold: float
    match: bool
    speech_s: float


@dataclass(frozen=True, slots=True)
class Candidate:
    speaker_id: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class Identification:
    candidates: list[Candidate]
    threshold: float
    speech_s: float


class BiometricsService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        settings: BiometricsSettings,
        vad: SpeechDetector | None = None,
        usage: UsageService | None = None,
    ) -> None:
        self._sessions = sessions
        self._usage = usage
        self._blobs = blobs
        self._engines = engines
        self._settings = settings
        self._vad = vad

    @property
    def settings(self) -> BiometricsSettings:
        return self._settings

    # --- engines ---------------------------------------------------------------------------

    async def models(self) -> tuple[Embedder, SpeechDetector]:
        """The embedder and the VAD, loaded (off the event loop) on first use."""
        embedder = await asyncio.to_thread(self._engines.get_embedder, self._settings.embedder)
        if self._vad is None:
            from voxclone.engines.vad import default_vad

            self._vad = await asyncio.to_thread(default_vad)
        return embedder, self._vad

    async def _print_of(self, data: bytes, *, what: str) -> tuple[Audio, SpeechPrint]:
        audio = decode_audio(data, max_seconds=self._settings.max_clip_s).audio
        embedder, vad = await self.models()
        found = await asyncio.to_thread(
            voiceprints.embed_speech,
            audio,
            embedder=embedder,
            vad=vad,
            min_speech_s=self._settings.min_speech_s,
            what=what,
        )
        return audio, found

    async def meter(
        self, *, key_id: str, entry: str, clip: Audio, event_key: str | None = None
    ) -> None:
        """Record a call that succeeded (services/usage.py): the seconds of audio it took in."""
        if self._usage is not None:
            await self._usage.record(
                UsageRecord(
                    key_id=key_id,
                    kind="biometrics",
                    entry=entry,
                    backend=self._settings.embedder,
                    audio_in_s=clip.duration_s,
                    event_key=event_key,
                )
            )

    # --- speakers --------------------------------------------------------------------------

    async def create_speaker(
        self,
        *,
        key_id: str,
        name: str | None,
        meta: dict[str, Any] | None = None,
        audio: bytes | None = None,
    ) -> Speaker:
        """A new speaker; with ``audio``, enrolled from it at once (or not created at all)."""
        name = _clean_name(name)
        meta = _check_meta(meta)
        speaker_id = new_id()
        if audio is None:
            async with self._sessions() as session:
                speaker = await speaker_queries.create_speaker(
                    session, id=speaker_id, key_id=key_id, name=name, meta=meta
                )
                await session.commit()
            return speaker
        clip, found = await self._print_of(audio, what="the enrollment audio")
        async with self._sessions() as session:
            speaker = await speaker_queries.create_speaker(
                session, id=speaker_id, key_id=key_id, name=name, meta=meta
            )
            await self._add_enrollment(session, speaker, clip, found)
            await session.commit()
        await self.meter(key_id=key_id, entry="speaker", clip=clip)
        return speaker

    async def get(self, *, key_id: str, speaker_id: str) -> Speaker:
        speaker_id = parse_id(speaker_id, what="speaker_id")
        async with self._sessions() as session:
            speaker = await speaker_queries.get_speaker(
                session, speaker_id=speaker_id, key_id=key_id
            )
        if speaker is None:
            raise NotFound(f"speaker {speaker_id} not found", speaker_id=speaker_id)
        return speaker

    async def list_speakers(
        self, *, key_id: str, limit: int = 100, offset: int = 0
    ) -> list[Speaker]:
        async with self._sessions() as session:
            return await speaker_queries.list_speakers(
                session, key_id=key_id, limit=limit, offset=offset
            )

    async def delete(self, *, key_id: str, speaker_id: str) -> None:
        """Delete the speaker, its enrollments and their audio."""
        speaker = await self.get(key_id=key_id, speaker_id=speaker_id)
        async with self._sessions() as session:
            await speaker_queries.delete_speaker(session, speaker=speaker)
            await session.commit()
        await self._blobs.delete_prefix(f"enrollments/{speaker.id}")

    # --- enrollments -----------------------------------------------------------------------

    async def enroll(
        self, *, key_id: str, speaker_id: str, audio: bytes
    ) -> tuple[Speaker, SpeakerEnrollment]:
        """Add an enrollment from ``audio`` and recompute the speaker's print."""
        await self.get(key_id=key_id, speaker_id=speaker_id)  # 400/404 before any work
        clip, found = await self._print_of(audio, what="the enrollment audio")
        async with self._sessions() as session:
            speaker = await self._locked(session, key_id=key_id, speaker_id=speaker_id)
            enrollment = await self._add_enrollment(session, speaker, clip, found)
            await session.commit()
        await self.meter(key_id=key_id, entry="enroll", clip=clip)
        return speaker, enrollment

    async def _add_enrollment(
        self, session: AsyncSession, speaker: Speaker, clip: Audio, found: SpeechPrint
    ) -> SpeakerEnrollment:
        enrollment_id = new_id()
        blob_key = enrollment_key(speaker.id, enrollment_id)
        await self._blobs.put(blob_key, encode_audio(clip, "wav"))
        try:
            enrollment = await speaker_queries.add_enrollment(
                session,
                id=enrollment_id,
                speaker_id=speaker.id,
                embedding=[float(x) for x in found.vector],
                audio_key=blob_key,
                duration_s=round(found.duration_s, 3),
                speech_s=round(found.speech_s, 3),
            )
            await self._recompute_print(session, speaker)
        except BaseException:
            await self._blobs.delete(blob_key)
            raise
        return enrollment

    async def _recompute_print(self, session: AsyncSession, speaker: Speaker) -> None:
        enrollments = await speaker_queries.list_enrollments(session, speaker_id=speaker.id)
        if not enrollments:
            await speaker_queries.set_print(
                session, speaker=speaker, embedding=None, enrollment_count=0, speech_s=0.0
            )
            return
        vector = voiceprints.combine(
            [_vector(e.embedding) for e in enrollments],
            [max(e.speech_s, 1e-3) for e in enrollments],
        )
        await speaker_queries.set_print(
            session,
            speaker=speaker,
            embedding=[float(x) for x in vector],
            enrollment_count=len(enrollments),
            speech_s=round(sum(e.speech_s for e in enrollments), 3),
        )

    async def _locked(self, session: AsyncSession, *, key_id: str, speaker_id: str) -> Speaker:
        speaker = await speaker_queries.get_speaker(
            session, speaker_id=speaker_id, key_id=key_id, for_update=True
        )
        if speaker is None:  # deleted meanwhile
            raise NotFound(f"speaker {speaker_id} not found", speaker_id=speaker_id)
        return speaker

    async def enrollments(self, *, key_id: str, speaker_id: str) -> list[SpeakerEnrollment]:
        speaker = await self.get(key_id=key_id, speaker_id=speaker_id)
        async with self._sessions() as session:
            return await speaker_queries.list_enrollments(session, speaker_id=speaker.id)

    async def delete_enrollment(
        self, *, key_id: str, speaker_id: str, enrollment_id: str
    ) -> Speaker:
        """Remove one enrollment and its audio; the print is recomputed from the rest."""
        speaker = await self.get(key_id=key_id, speaker_id=speaker_id)
        enrollment_id = parse_id(enrollment_id, what="enrollment_id")
        async with self._sessions() as session:
            locked = await self._locked(session, key_id=key_id, speaker_id=speaker.id)
            enrollment = await speaker_queries.get_enrollment(
                session, speaker_id=speaker.id, enrollment_id=enrollment_id
            )
            if enrollment is None:
                raise NotFound(
                    f"enrollment {enrollment_id} of speaker {speaker.id} not found",
                    enrollment_id=enrollment_id,
                )
            audio_key = enrollment.audio_key
            await speaker_queries.delete_enrollment(session, enrollment=enrollment)
            await self._recompute_print(session, locked)
            await session.commit()
        await self._blobs.delete(audio_key)
        return locked

    # --- verify and identify ---------------------------------------------------------------

    async def verify(
        self, *, key_id: str, speaker_id: str, audio: bytes, threshold: float | None = None
    ) -> Verification:
        """Whether ``audio`` is spoken by the speaker: score against its print."""
        threshold = self.threshold(threshold)
        speaker = await self.get(key_id=key_id, speaker_id=speaker_id)
        stored = require_print(speaker)
        clip, found = await self._print_of(audio, what="the audio to verify")
        value = voiceprints.score(stored, found.vector)
        await self.meter(key_id=key_id, entry="verify", clip=clip)
        return Verification(
            speaker_id=speaker.id,
            score=round(value, 4),
            threshold=threshold,
            match=value >= threshold,
            speech_s=round(found.speech_s, 3),
        )

    async def compare(
        self, *, audio: bytes, reference: Audio, threshold: float | None = None
    ) -> tuple[float, float]:
        """The cosine score of the speech in ``audio`` against the speech in ``reference`` (a
        voice's clip), and the threshold from which they are one speaker. Not metered: the
        caller decides what the comparison is part of."""
        threshold = self.threshold(threshold)
        _, found = await self._print_of(audio, what="the recording")
        embedder, vad = await self.models()
        known = await asyncio.to_thread(
            voiceprints.embed_speech,
            reference,
            embedder=embedder,
            vad=vad,
            min_speech_s=self._settings.min_speech_s,
            what="the voice's reference",
        )
        return round(voiceprints.score(known.vector, found.vector), 4), threshold

    async def identify(
        self, *, key_id: str, audio: bytes, top_k: int = 5, threshold: float | None = None
    ) -> Identification:
        """The key's enrolled speakers whose print scores at least ``threshold``, best first."""
        threshold = self.threshold(threshold)
        if not 1 <= top_k <= MAX_TOP_K:
            raise Unprocessable(
                f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}", field="top_k"
            )
        async with self._sessions() as session:
            speakers = await speaker_queries.list_enrolled_speakers(session, key_id=key_id)
        if not speakers:
            raise SpeakerNotEnrolled(
                "this key has no enrolled speaker to identify against; create one with "
                "POST /v1/speakers and enroll it with POST /v1/speakers/{id}/enrollments"
            )
        clip, found = await self._print_of(audio, what="the audio to identify")
        await self.meter(key_id=key_id, entry="identify", clip=clip)
        scored = [
            Candidate(s.id, s.name, round(voiceprints.score(require_print(s), found.vector), 4))
            for s in speakers
        ]
        kept = sorted((c for c in scored if c.score >= threshold), key=lambda c: -c.score)
        return Identification(
            candidates=kept[:top_k], threshold=threshold, speech_s=round(found.speech_s, 3)
        )

    async def enrolled_prints(
        self, *, key_id: str
    ) -> tuple[Embedder, list[tuple[str, str, list[float]]]]:
        """The embedder, loaded, and the key's enrolled speakers as (id, name, print): what
        diarization needs to cluster voices and name the ones it knows."""
        async with self._sessions() as session:
            speakers = await speaker_queries.list_enrolled_speakers(session, key_id=key_id)
        embedder, _ = await self.models()
        return embedder, [(s.id, s.name, require_print(s)) for s in speakers]

    def threshold(self, value: float | None) -> float:
        if value is None:
            return self._settings.threshold
        if not -1.0 <= value <= 1.0:
            raise Unprocessable(
                f"threshold must be a cosine score between -1 and 1, got {value}",
                field="threshold",
            )
        return value


def _vector(values: list[float]) -> FloatArray:
    return np.asarray(values, dtype=np.float32)


def require_print(speaker: Speaker) -> list[float]:
    if speaker.embedding is None or speaker.enrollment_count == 0:
        raise SpeakerNotEnrolled(
            f"speaker {speaker.id} has no enrollment yet, so there is no voice print to compare "
            f"with; enroll audio first (POST /v1/speakers/{speaker.id}/enrollments)",
            speaker_id=speaker.id,
        )
    return speaker.embedding


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise MissingField("name is required", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"name is {len(name)} characters long; at most {MAX_NAME_CHARS} are allowed",
            field="name",
        )
    return name


def _check_meta(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidInput(f"meta must be a JSON object, got {type(meta).__name__}", field="meta")
    size = len(json.dumps(meta))
    if size > MAX_META_BYTES:
        raise InvalidInput(
            f"meta is {size} bytes of JSON; at most {MAX_META_BYTES} are allowed", field="meta"
        )
    return meta
