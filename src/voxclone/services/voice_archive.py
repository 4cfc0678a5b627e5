"""Export a voice as one portable archive, and import one as a new voice of the key.

The archive (``voice_archive_format.py``) carries the samples, the profile and the engine's
prompt with that engine's name and version. Importing it on a server whose engine has the same
version stores the prompt as it is: the voice is ready at once and speaks exactly as it did. An
archive from another version of the engine is refused (422 ``incompatible_engine_version``),
unless ``refit`` is asked: then the voice is fitted again from its samples (a job, for a fitting
engine) or its prompt recomputed (other engines). Every check runs before anything is stored,
and a failure while storing removes what was written: a refused archive creates nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone import __version__
from voxclone.audio import check_duration, decode_audio
from voxclone.audio.codec import DecodedAudio
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    Conflict,
    IncompatibleEngineVersion,
    InvalidArchive,
    VoxcloneError,
)
from voxclone.core.types import JobKind, VoiceStatus, new_id
from voxclone.db import jobs as job_queries
from voxclone.db import voice_samples as sample_queries
from voxclone.db import voices as voice_queries
from voxclone.db.tables import Voice
from voxclone.engines.registry import EngineRegistry
from voxclone.queue.base import JobQueue
from voxclone.services.voice_archive_format import read_archive, write_archive
from voxclone.services.voice_profiles import (
    VoiceProfile,
    clean_description,
    clean_labels,
    clean_tags,
)
from voxclone.services.voice_references import join_samples, sample_key
from voxclone.services.voices import VoiceService, _clean_name, check_language
from voxclone.storage.base import BlobStore


@dataclass(frozen=True, slots=True)
class ExportedVoice:
    data: bytes
    filename: str


class VoiceArchiveService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        engines: EngineRegistry,
        limits: LimitSettings,
        queue: JobQueue,
        voices: VoiceService,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._engines = engines
        self._limits = limits
        self._queue = queue
        self._voices = voices

    async def export(self, *, key_id: str, voice_id: str) -> ExportedVoice:
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        if voice.status != VoiceStatus.READY:
            raise Conflict(
                f"voice {voice.id} is {voice.status}; only a ready voice can be exported",
                voice_id=voice.id,
                status=voice.status,
            )
        engine = self._engines.get_tts(voice.backend)
        prompt = await self._voices.prompt_for(voice, engine)
        async with self._sessions() as session:
            stored = await voice_queries.get_prompt(session, voice_id=voice.id, engine=engine.name)
        version = stored.engine_version if stored is not None else engine.version
        samples = await self._voices.references.samples(voice)
        files = [f"samples/{i:02d}.{s.format}" for i, s in enumerate(samples, start=1)]
        audio = [
            (file, await self._blobs.get(s.audio_key))
            for file, s in zip(files, samples, strict=True)
        ]
        document = {
            "name": voice.name,
            "description": voice.description,
            "tags": list(voice.tags or []),
            "labels": dict(voice.labels or {}),
            "lang": voice.lang,
            "family": voice.family,
            "backend": voice.backend,
            "created_at": voice.created_at.isoformat(),
            "samples": [
                {
                    "file": file,
                    "ref_text": s.ref_text,
                    "ref_text_auto": s.ref_text_auto,
                    "format": s.format,
                    "duration_s": s.duration_s,
                    "sample_rate": s.sample_rate,
                    "checks": s.checks,
                }
                for file, s in zip(files, samples, strict=True)
            ],
        }
        data = await asyncio.to_thread(
            write_archive,
            voice=document,
            prompt={"engine": engine.name, "engine_version": version, "prompt": prompt},
            samples=audio,
            app=__version__,
        )
        return ExportedVoice(data=data, filename=f"voice-{voice.id}.zip")

    async def import_(
        self,
        *,
        key_id: str,
        data: bytes,
        refit: bool = False,
        admit_job: Callable[[], Awaitable[None]] | None = None,
    ) -> Voice:
        """A new voice of ``key_id`` from an exported archive (see the module's docstring)."""
        archive = await asyncio.to_thread(
            read_archive,
            data,
            max_samples=self._limits.max_voice_samples,
            max_sample_bytes=self._limits.max_reference_bytes,
            max_unpacked_bytes=2 * self._limits.max_voice_archive_bytes,
        )
        doc = archive.voice
        name = _clean_name(_text(doc, "name") or "")
        lang = _text(doc, "lang") or "en"
        profile = VoiceProfile(
            description=clean_description(_text(doc, "description")),
            tags=clean_tags(doc.get("tags") or []),
            labels=clean_labels(doc.get("labels") or {}),
        )
        engine = self._engines.get_tts(archive.engine)
        check_language(engine, lang)
        same_version = archive.engine_version == engine.version
        if not same_version and not refit:
            raise IncompatibleEngineVersion(
                f"the archive's voice prompt was made by {archive.engine} version "
                f"{archive.engine_version!r}; this server runs {engine.version!r}. Import it "
                "with refit=true to fit the voice again from its samples",
                backend=archive.engine,
                archive_version=archive.engine_version,
                engine_version=engine.version,
            )
        decoded = [await asyncio.to_thread(self._decode, s.data, s.file) for s in archive.samples]
        total = sum(d.audio.duration_s for d in decoded)
        if total > self._limits.max_voice_reference_seconds:
            raise AudioDurationOutOfRange(
                f"the archive's samples last {total:.1f} s in all; at most "
                f"{self._limits.max_voice_reference_seconds:g} s are allowed per voice",
                total_s=round(total, 2),
                max_s=self._limits.max_voice_reference_seconds,
            )
        fitting = engine.capabilities().fitting
        prompt: dict[str, Any] | None = archive.prompt if same_version else None
        if prompt is None and not fitting:
            texts = [s.ref_text for s in archive.samples]
            prompt = await asyncio.to_thread(
                engine.create_voice_prompt,
                join_samples([d.audio for d in decoded]),
                _joined(texts),
            )
        if prompt is None and admit_job is not None:
            await admit_job()
        voice_id = new_id()
        sample_ids = [new_id() for _ in archive.samples]
        keys = [
            sample_key(voice_id, sid, d.format) for sid, d in zip(sample_ids, decoded, strict=True)
        ]
        first, first_audio = archive.samples[0], decoded[0]
        job_id = new_id() if prompt is None else None
        try:
            for key, sample in zip(keys, archive.samples, strict=True):
                await self._blobs.put(key, sample.data)
            async with self._sessions() as session:
                voice = await voice_queries.create_voice(
                    session,
                    id=voice_id,
                    key_id=key_id,
                    name=name,
                    backend=engine.name,
                    lang=lang,
                    family=_text(doc, "family"),
                    ref_text=first.ref_text,
                    ref_text_auto=first.ref_text_auto,
                    ref_audio_key=keys[0],
                    ref_format=first_audio.format,
                    ref_duration_s=round(first_audio.audio.duration_s, 3),
                    ref_sample_rate=first_audio.sample_rate,
                    status=VoiceStatus.READY if job_id is None else VoiceStatus.FITTING,
                    progress=1.0 if job_id is None else 0.0,
                    meta={"imported": True, **({"fit_job_id": job_id} if job_id else {})},
                    **profile.columns(),
                )
                for position, (sid, key, sample, audio) in enumerate(
                    zip(sample_ids, keys, archive.samples, decoded, strict=True)
                ):
                    await sample_queries.add_sample(
                        session,
                        id=sid,
                        voice_id=voice_id,
                        audio_key=key,
                        format=audio.format,
                        duration_s=round(audio.audio.duration_s, 3),
                        sample_rate=audio.sample_rate,
                        ref_text=sample.ref_text,
                        ref_text_auto=sample.ref_text_auto,
                        checks=sample.checks,
                        position=position,
                    )
                if prompt is not None:
                    await voice_queries.put_prompt(
                        session,
                        voice_id=voice_id,
                        engine=engine.name,
                        engine_version=archive.engine_version if same_version else engine.version,
                        prompt=prompt,
                    )
                else:
                    assert job_id is not None
                    await job_queries.create_job(
                        session,
                        id=job_id,
                        key_id=key_id,
                        voice_id=voice_id,
                        kind=JobKind.FIT_VOICE,
                        params={"backend": engine.name},
                    )
                await session.commit()
        except BaseException:
            await self._blobs.delete_prefix(f"voices/{voice_id}")
            raise
        if job_id is not None:
            await self._queue.submit(job_id)
        return voice

    def _decode(self, data: bytes, file: str) -> DecodedAudio:
        try:
            decoded = decode_audio(data, max_seconds=self._limits.max_reference_seconds)
            check_duration(
                decoded.audio,
                min_s=self._limits.min_reference_seconds,
                max_s=self._limits.max_reference_seconds,
                what=f"sample {file}",
            )
        except VoxcloneError as exc:
            raise InvalidArchive(
                f"sample {file} of the archive is not usable: {exc.message}",
                problem="invalid_sample",
                member=file,
                reason=exc.code,
            ) from exc
        return decoded


def _text(doc: dict[str, Any], field: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArchive(
            f"voice.json: {field} must be a string", problem="invalid_member", member="voice.json"
        )
    return value


def _joined(texts: list[str | None]) -> str | None:
    cleaned = [(t or "").strip() for t in texts]
    return " ".join(cleaned) if all(cleaned) else None
