"""A voice's reference samples: add, list, play, remove; each change refits the voice.

Each sample is checked as a voice's reference is (decoded, ``limits`` on size and duration, the
engine's ``check_reference``: silence, noise, music, two speakers), and transcribed when it
comes without ``ref_text``; all of a voice's samples together stay within
``limits.max_voice_reference_seconds`` and ``limits.max_voice_samples``.

After a change, a fitting engine (Kokoro) refits the voice in a FIT_VOICE job: the voice stays
``ready`` and its previous prompt serves until the job lands (``voice_fits.py``); a voice whose
first fit failed gets a new first fit instead. A voice still being fitted for the first time
refuses changes (409) until it is ready. Other engines get their prompt recomputed from the new
samples before the change is stored, so a prompt that cannot be made leaves nothing changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import check_duration, decode_audio, media_type
from voxclone.audio.codec import DecodedAudio
from voxclone.config import LimitSettings
from voxclone.core.errors import AudioDurationOutOfRange, Conflict, NotFound
from voxclone.core.types import JobKind, VoiceStatus, new_id, parse_id
from voxclone.db import jobs as job_queries
from voxclone.db import voice_samples as sample_queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Voice, utcnow
from voxclone.engines.base import TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry
from voxclone.queue.base import JobQueue
from voxclone.services.transcription import TranscriptionService
from voxclone.services.voice_fits import REFIT
from voxclone.services.voice_references import (
    Sample,
    as_sample,
    join_samples,
    joined_transcript,
    materialize,
    sample_key,
)
from voxclone.services.voices import ReferenceDownload, VoiceService
from voxclone.storage.base import BlobStore

AdmitJob = Callable[[], Awaitable[None]]
"""Awaited before a refit job is created; raises to refuse it (quotas, concurrency)."""


@dataclass(frozen=True, slots=True)
class SampleChange:
    """What a change of samples did: the voice as it now stands, and the sample added."""

    voice: Voice
    sample: Sample | None = None


class VoiceSampleService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        limits: LimitSettings,
        queue: JobQueue,
        voices: VoiceService,
        transcription: TranscriptionService | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._engines = engines
        self._limits = limits
        self._queue = queue
        self._voices = voices
        self._transcription = transcription

    async def samples(self, *, key_id: str, voice_id: str) -> list[Sample]:
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        return await self._voices.references.samples(voice)

    async def get(self, *, key_id: str, voice_id: str, sample_id: str) -> Sample:
        sample_id = parse_id(sample_id, what="sample_id")
        for sample in await self.samples(key_id=key_id, voice_id=voice_id):
            if sample.id == sample_id:
                return sample
        raise NotFound(f"sample {sample_id} not found", sample_id=sample_id)

    async def audio(self, *, key_id: str, voice_id: str, sample_id: str) -> ReferenceDownload:
        """The sample's audio as it was uploaded, streamed from the store."""
        sample = await self.get(key_id=key_id, voice_id=voice_id, sample_id=sample_id)
        return ReferenceDownload(
            chunks=self._blobs.stream(sample.audio_key),
            media_type=media_type(sample.format),
            size=await self._blobs.size(sample.audio_key),
        )

    async def add(
        self,
        *,
        key_id: str,
        voice_id: str,
        audio: bytes,
        ref_text: str | None = None,
        admit_job: AdmitJob | None = None,
    ) -> SampleChange:
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        _refuse_while_fitting(voice)
        engine = self._engines.get_tts(voice.backend)
        decoded = decode_audio(audio, max_seconds=self._limits.max_reference_seconds)
        check_duration(
            decoded.audio,
            min_s=self._limits.min_reference_seconds,
            max_s=self._limits.max_reference_seconds,
            what="sample audio",
        )
        current = await self._voices.references.samples(voice)
        self._check_room(current, adding_s=decoded.audio.duration_s)
        checks = await self._check(engine, decoded)
        ref_text_auto = False
        if not (ref_text and ref_text.strip()) and self._transcription is not None:
            ref_text = await self._transcription.transcribe_reference(
                decoded.audio, language=voice.lang
            )
            ref_text_auto = ref_text is not None
        sample_id = new_id()
        key = sample_key(voice.id, sample_id, decoded.format)
        fitting = engine.capabilities().fitting
        if fitting and admit_job is not None:
            await admit_job()
        prompt = None
        if not fitting:  # the new prompt first: if it cannot be made, nothing changes
            new = _draft(voice, sample_id, key, decoded, ref_text, ref_text_auto, len(current))
            prompt = await self._prompt(engine, voice, [*current, new], extra=decoded)
        await self._blobs.put(key, audio)
        try:
            async with self._sessions() as session:
                locked = await _lock(session, voice)
                rows = await materialize(session, locked)
                if prompt is not None:
                    _refuse_if_changed(rows, current)
                self._check_room(
                    [as_sample(locked, r) for r in rows], adding_s=decoded.audio.duration_s
                )
                row = await sample_queries.add_sample(
                    session,
                    id=sample_id,
                    voice_id=voice.id,
                    audio_key=key,
                    format=decoded.format,
                    duration_s=round(decoded.audio.duration_s, 3),
                    sample_rate=decoded.sample_rate,
                    ref_text=(ref_text or "").strip() or None,
                    ref_text_auto=ref_text_auto,
                    checks=checks,
                    position=max(r.position for r in rows) + 1,
                )
                job_id = await self._after_change(session, locked, engine, prompt)
                sample = as_sample(locked, row)
                await session.commit()
        except BaseException:
            await self._blobs.delete(key)
            raise
        if job_id is not None:
            await self._queue.submit(job_id)
        return SampleChange(
            voice=await self._voices.get(key_id=key_id, voice_id=voice.id), sample=sample
        )

    async def remove(
        self, *, key_id: str, voice_id: str, sample_id: str, admit_job: AdmitJob | None = None
    ) -> SampleChange:
        """Remove a sample (not the last one: 409) and refit the voice to the rest."""
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        sample_id = parse_id(sample_id, what="sample_id")
        _refuse_while_fitting(voice)
        engine = self._engines.get_tts(voice.backend)
        current = await self._voices.references.samples(voice)
        target = next((s for s in current if s.id == sample_id), None)
        if target is None:
            raise NotFound(f"sample {sample_id} not found", sample_id=sample_id)
        if len(current) == 1:
            raise _last_sample(voice.id, sample_id)
        fitting = engine.capabilities().fitting
        if fitting and admit_job is not None:
            await admit_job()
        prompt = None
        if not fitting:
            prompt = await self._prompt(engine, voice, [s for s in current if s.id != sample_id])
        async with self._sessions() as session:
            locked = await _lock(session, voice)
            rows = await materialize(session, locked)
            if not any(r.id == sample_id for r in rows):
                raise NotFound(f"sample {sample_id} not found", sample_id=sample_id)
            if len(rows) == 1:
                raise _last_sample(voice.id, sample_id)
            if prompt is not None:
                _refuse_if_changed(rows, current)
            removed = next(r for r in rows if r.id == sample_id)
            await sample_queries.delete_sample(session, voice_id=voice.id, sample_id=sample_id)
            if removed.audio_key == locked.ref_audio_key:
                first = next(as_sample(locked, r) for r in rows if r.id != sample_id)
                first_row = next(r for r in rows if r.id == first.id)
                await voice_queries.update_voice(
                    session,
                    voice=locked,
                    ref_audio_key=first.audio_key,
                    ref_format=first.format,
                    ref_duration_s=first.duration_s,
                    ref_sample_rate=first.sample_rate,
                    ref_text=first_row.ref_text,
                    ref_text_auto=first_row.ref_text_auto,
                )
            job_id = await self._after_change(session, locked, engine, prompt)
            await session.commit()
        await self._blobs.delete(removed.audio_key)
        if job_id is not None:
            await self._queue.submit(job_id)
        return SampleChange(voice=await self._voices.get(key_id=key_id, voice_id=voice.id))

    # --- internals ------------------------------------------------------------------------------

    def _check_room(self, current: list[Sample], *, adding_s: float) -> None:
        if len(current) >= self._limits.max_voice_samples:
            raise Conflict(
                f"the voice has {len(current)} samples, as many as a voice may hold "
                f"({self._limits.max_voice_samples}); remove one first",
                samples=len(current),
                max_samples=self._limits.max_voice_samples,
            )
        total = sum(s.duration_s for s in current) + adding_s
        if total > self._limits.max_voice_reference_seconds:
            raise AudioDurationOutOfRange(
                f"the voice's samples would last {total:.1f} s in all; at most "
                f"{self._limits.max_voice_reference_seconds:g} s are allowed per voice",
                field="audio",
                total_s=round(total, 2),
                max_s=self._limits.max_voice_reference_seconds,
            )

    async def _check(self, engine: TTSEngine, decoded: DecodedAudio) -> dict[str, Any]:
        """The engine's reference checks (UnusableReference when the clip is unusable)."""
        check = getattr(engine, "check_reference", None)
        if check is None:
            return {}
        found = await asyncio.to_thread(check, decoded.audio)
        return dict(found) if isinstance(found, dict) else {}

    async def _prompt(
        self,
        engine: TTSEngine,
        voice: Voice,
        samples: list[Sample],
        *,
        extra: DecodedAudio | None = None,
    ) -> VoicePrompt:
        """The prompt of a non-fitting engine for these samples (``extra``: the audio of one
        that is not stored yet, the last)."""
        parts = []
        for sample in samples:
            if extra is not None and sample is samples[-1]:
                parts.append(extra.audio)
            else:
                parts.append(decode_audio(await self._blobs.get(sample.audio_key)).audio)
        return await asyncio.to_thread(
            engine.create_voice_prompt, join_samples(parts), joined_transcript(samples)
        )

    async def _after_change(
        self, session: AsyncSession, voice: Voice, engine: TTSEngine, prompt: VoicePrompt | None
    ) -> str | None:
        """Refit (a job, whose id is returned) or store the new prompt, in the change's
        transaction; ``updated_at`` moves either way, so cached prompts are looked up again."""
        meta = dict(voice.meta or {})
        meta["samples_changed_at"] = utcnow().isoformat()
        if prompt is not None:
            meta["prompt_revision"] = new_id()  # a new cache key (see voice_fits.py)
            await voice_queries.delete_prompts(session, voice_id=voice.id)
            await voice_queries.put_prompt(
                session,
                voice_id=voice.id,
                engine=engine.name,
                engine_version=engine.version,
                prompt=prompt,
            )
            await voice_queries.update_voice(
                session, voice=voice, meta=meta, status=VoiceStatus.READY, progress=1.0, error=None
            )
            return None
        job_id = new_id()
        refit = voice.status == VoiceStatus.READY
        previous = meta.get("refit_job_id")
        if previous:  # superseded: its result would not land anyway
            await job_queries.cancel_job(session, job_id=previous)
        await job_queries.create_job(
            session,
            id=job_id,
            key_id=voice.key_id,
            voice_id=voice.id,
            kind=JobKind.FIT_VOICE,
            params={"backend": engine.name, REFIT: refit},
        )
        if refit:
            meta["refit_job_id"] = job_id
            meta.pop("refit_error", None)
            await voice_queries.update_voice(session, voice=voice, meta=meta)
        else:  # its first fit failed: this is a first fit again
            meta["fit_job_id"] = job_id
            await voice_queries.update_voice(
                session,
                voice=voice,
                status=VoiceStatus.FITTING,
                progress=0.0,
                error=None,
                meta=meta,
            )
        return job_id


def _refuse_while_fitting(voice: Voice) -> None:
    if voice.status == VoiceStatus.FITTING:
        raise Conflict(
            f"voice {voice.id} is still being fitted ({round(voice.progress * 100)}% done); "
            "change its samples when its status is ready",
            voice_id=voice.id,
            status=voice.status,
        )


def _refuse_if_changed(rows: list[Any], read: list[Sample]) -> None:
    """The prompt was made from ``read``: refuse to store it if the samples changed since."""
    if sorted(r.id for r in rows) != sorted(s.id for s in read):
        raise Conflict("the voice's samples changed during this request; try again")


def _last_sample(voice_id: str, sample_id: str) -> Conflict:
    return Conflict(
        f"sample {sample_id} is the last sample of voice {voice_id}; a voice needs one: add "
        "another first, or delete the voice",
        voice_id=voice_id,
        sample_id=sample_id,
    )


async def _lock(session: AsyncSession, voice: Voice) -> Voice:
    locked = await voice_queries.lock_voice(session, voice_id=voice.id)
    if locked is None:
        raise NotFound(f"voice {voice.id} not found", voice_id=voice.id)
    _refuse_while_fitting(locked)
    return locked


def _draft(
    voice: Voice,
    sample_id: str,
    key: str,
    decoded: DecodedAudio,
    ref_text: str | None,
    ref_text_auto: bool,
    position: int,
) -> Sample:
    """A sample not stored yet, to compute a prompt with."""
    return Sample(
        id=sample_id,
        voice_id=voice.id,
        audio_key=key,
        format=decoded.format,
        duration_s=decoded.audio.duration_s,
        sample_rate=decoded.sample_rate,
        ref_text=ref_text,
        ref_text_auto=ref_text_auto,
        position=position,
        created_at=utcnow(),
    )
