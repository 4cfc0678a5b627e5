"""Speech to text and noise suppression of recordings too long for one HTTP request: TRANSCRIBE
and DENOISE jobs.

A synchronous call takes audio up to ``limits.max_sync_speech_audio_s`` (read from the header,
or while decoding when the header does not say); longer audio, up to ``max_speech_audio_s``, is
stored as uploaded in ``jobs/{id}/input`` and run by a worker, which may be on another host. The
worker decodes and runs it exactly as the synchronous route would, stores the answer the route
would have given (a transcript in the asked ``response_format``, or the denoised audio), and
meters it once, keyed by the job.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, probe_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    JobNotReady,
    NotFound,
    VoxcloneError,
)
from voxclone.core.types import JobKind, JobStatus, new_id, parse_id
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job
from voxclone.queue.base import JobQueue
from voxclone.services.biometrics import BiometricsService
from voxclone.services.denoise import DenoiseService, check_output
from voxclone.services.diarization import Diarization, diarize
from voxclone.services.metrics import Metrics
from voxclone.services.synthesis import JobCancelled, Recorder
from voxclone.services.transcript_bodies import MEDIA_TYPES, transcript_body
from voxclone.services.transcription import (
    PreparedTranscription,
    TranscriptionRequest,
    TranscriptionResult,
    TranscriptionService,
)
from voxclone.services.usage import UsageRecord
from voxclone.storage.base import BlobStore


def input_key(job_id: str) -> str:
    """The upload, as the client sent it (decoded by its content, like any upload)."""
    return f"jobs/{job_id}/input"


def transcript_key(job_id: str) -> str:
    return f"jobs/{job_id}/transcript"


@dataclass(frozen=True, slots=True)
class TranscriptionJob:
    """What a TRANSCRIBE job does with its audio, and the answer it keeps."""

    request: TranscriptionRequest
    response_format: str
    """One of OpenAI's response formats, or ``provider`` (``/v1/transcribe``'s JSON)."""
    entry: str
    """The way in, for usage: ``openai`` or ``transcribe``."""
    granularities: frozenset[str] = frozenset()
    diarize: bool = False

    def to_params(self) -> dict[str, Any]:
        return {
            "request": dataclasses.asdict(self.request),
            "response_format": self.response_format,
            "entry": self.entry,
            "granularities": sorted(self.granularities),
            "diarize": self.diarize,
            "backend": self.request.backend,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TranscriptionJob:
        return cls(
            request=TranscriptionRequest(**params["request"]),
            response_format=params["response_format"],
            entry=params["entry"],
            granularities=frozenset(params["granularities"]),
            diarize=params["diarize"],
        )


@dataclass(frozen=True, slots=True)
class DenoiseJob:
    """The denoised file's format and rate (None: the input's)."""

    format: str | None = None
    sample_rate: int | None = None

    def to_params(self) -> dict[str, Any]:
        return {"format": self.format, "sample_rate": self.sample_rate}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DenoiseJob:
        return cls(format=params["format"], sample_rate=params["sample_rate"])


@dataclass(frozen=True, slots=True)
class StoredTranscript:
    """A finished TRANSCRIBE job's answer, and what the synchronous route sends as headers."""

    content: bytes
    media_type: str
    duration_s: float
    backend: str
    processing_ms: int


class SpeechJobs:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        queue: JobQueue,
        limits: LimitSettings,
        transcription: TranscriptionService,
        denoise: DenoiseService,
        biometrics: BiometricsService,
        recorder: Recorder,
        metrics: Metrics,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._queue = queue
        self._limits = limits
        self._transcription = transcription
        self._denoise = denoise
        self._biometrics = biometrics
        self._recorder = recorder
        self._metrics = metrics

    @property
    def max_sync_s(self) -> float:
        return self._limits.max_sync_speech_audio_s

    async def too_long_for_sync(self, data: bytes) -> float | None:
        """The audio's duration when it is longer than a synchronous call takes, else None.

        Read from the header; when the header does not give the length, by decoding up to the
        limit. Audio that is not audio, or longer than ``max_speech_audio_s``, is refused
        (InvalidAudio, AudioDurationOutOfRange) as the synchronous call would refuse it.
        """
        limits = self._limits
        info = probe_audio(data)
        if info.length_known:
            if info.duration_s > limits.max_speech_audio_s:
                raise AudioDurationOutOfRange(
                    f"the audio is {info.duration_s:.1f} s long; the limit is "
                    f"{limits.max_speech_audio_s:g} s",
                    duration_s=round(info.duration_s, 3),
                    max_s=limits.max_speech_audio_s,
                )
            return info.duration_s if info.duration_s > self.max_sync_s else None
        try:
            await asyncio.to_thread(decode_audio, data, max_seconds=self.max_sync_s)
        except AudioDurationOutOfRange:
            return self.max_sync_s  # at least
        return None

    async def submit_transcription(
        self,
        *,
        key_id: str,
        data: bytes,
        job: TranscriptionJob,
        callback_url: str | None = None,
    ) -> Job:
        """Store the upload and queue its transcription; an engine that is unknown, cannot be
        loaded or cannot translate is refused now, as the synchronous call would refuse it."""
        self._transcription.check_request(job.request)
        self._transcription.engine_for(job.request)
        return await self._submit(
            key_id=key_id,
            data=data,
            kind=JobKind.TRANSCRIBE,
            params=job.to_params(),
            callback_url=callback_url,
        )

    async def submit_denoise(
        self, *, key_id: str, data: bytes, job: DenoiseJob, callback_url: str | None = None
    ) -> Job:
        check_output(job.format, job.sample_rate)
        return await self._submit(
            key_id=key_id,
            data=data,
            kind=JobKind.DENOISE,
            params=job.to_params(),
            callback_url=callback_url,
        )

    async def _submit(
        self,
        *,
        key_id: str,
        data: bytes,
        kind: JobKind,
        params: dict[str, Any],
        callback_url: str | None,
    ) -> Job:
        job_id = new_id()
        stored = input_key(job_id)
        await self._blobs.put(stored, data)
        try:
            async with self._sessions() as session:
                job = await job_queries.create_job(
                    session,
                    id=job_id,
                    key_id=key_id,
                    kind=kind,
                    params={**params, "input_key": stored},
                    callback_url=callback_url,
                )
                await session.commit()
        except BaseException:
            await self._blobs.delete(stored)
            raise
        await self._queue.submit(job_id)
        return job

    async def run(self, job: Job) -> None:
        """Run a claimed TRANSCRIBE or DENOISE job (from the runner)."""
        data = await self._blobs.get(job.params["input_key"])
        if job.kind == JobKind.TRANSCRIBE:
            await self._run_transcription(job, data)
        elif job.kind == JobKind.DENOISE:
            await self._run_denoise(job, data)
        else:
            raise VoxcloneError(f"job {job.id} is a {job.kind} job, not a speech job")

    async def _run_transcription(self, job: Job, data: bytes) -> None:
        asked = TranscriptionJob.from_params(job.params)
        stt = self._transcription
        prepared = await asyncio.to_thread(lambda: stt.prepare(data=data, request=asked.request))
        if not await self._progress(job, 0.1):
            await self.discard(job)
            raise JobCancelled
        result = await stt.run(prepared)
        diarization = await self._diarized(job.key_id, prepared, result) if asked.diarize else None
        body = transcript_body(
            result,
            asked.response_format,
            asked.granularities,
            task=asked.request.task,
            diarization=diarization,
        )
        await self._blobs.put(transcript_key(job.id), body.encoded())
        if not await self._progress(job, 0.95):
            await self.discard(job)
            raise JobCancelled
        await self.discard_input(job)
        self._metrics.note_engine_call(engine=result.backend, wall_s=result.processing_s)
        await self._meter(
            job,
            kind="stt",
            entry=asked.entry,
            backend=result.backend,
            audio_in_s=result.duration_s,
        )
        await self._finish(
            job,
            result={
                "response_format": asked.response_format,
                "language": result.transcript.language,
                "duration_s": result.duration_s,
                "backend": result.backend,
                "processing_ms": round(result.processing_s * 1000),
            },
        )

    async def _run_denoise(self, job: Job, data: bytes) -> None:
        asked = DenoiseJob.from_params(job.params)
        denoised = await self._denoise.denoise_file(
            data=data, fmt=asked.format, sample_rate=asked.sample_rate
        )
        audio_key = f"jobs/{job.id}.{denoised.format}"
        await self._blobs.put(audio_key, denoised.data)
        if not await self._progress(job, 0.95):
            await self.discard(job)
            raise JobCancelled
        await self.discard_input(job)
        self._metrics.note_engine_call(
            engine=denoised.backend, wall_s=denoised.processing_ms / 1000
        )
        await self._meter(  # a denoiser keeps the length: as many seconds out as in
            job,
            kind="denoise",
            entry="job",
            backend=denoised.backend,
            audio_in_s=denoised.duration_s,
            audio_out_s=denoised.duration_s,
        )
        await self._finish(
            job,
            audio_key=audio_key,
            audio_duration_s=round(denoised.duration_s, 3),
            result={
                "format": denoised.format,
                "sample_rate": denoised.sample_rate,
                "duration_s": round(denoised.duration_s, 3),
                "backend": denoised.backend,
                "processing_ms": denoised.processing_ms,
            },
        )

    async def transcript(self, *, key_id: str, job_id: str) -> StoredTranscript:
        """A finished TRANSCRIBE job's answer (404 for another key's job or one not ready)."""
        job_id = parse_id(job_id, what="job_id")
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id, key_id=key_id)
        if job is None or job.kind != JobKind.TRANSCRIBE:
            raise NotFound(f"transcription job {job_id} not found", job_id=job_id)
        if job.status != JobStatus.READY or job.result is None:
            raise JobNotReady(
                f"job {job.id} has no transcript: its status is {job.status}",
                job_id=job.id,
                status=job.status,
            )
        result = job.result
        return StoredTranscript(
            content=await self._blobs.get(transcript_key(job.id)),
            media_type=MEDIA_TYPES[result["response_format"]],
            duration_s=result["duration_s"],
            backend=result["backend"],
            processing_ms=result["processing_ms"],
        )

    async def job_finished(self, job: Job) -> None:
        """A job's end (``JobEvents``): a speech job keeps no upload, and one that did not end
        ready keeps nothing (a job cancelled before a worker took it would leave its upload)."""
        if job.kind not in (JobKind.TRANSCRIBE, JobKind.DENOISE):
            return
        if job.status == JobStatus.READY:
            await self.discard_input(job)
        else:
            await self.discard(job)

    async def discard_input(self, job: Job) -> None:
        """Delete a speech job's upload: what it made is all a finished job keeps."""
        if job.params.get("input_key") == input_key(job.id):
            await self._blobs.delete(input_key(job.id))

    async def discard(self, job: Job) -> None:
        """Delete everything a speech job stored (it failed or was cancelled)."""
        await self._blobs.delete_prefix(f"jobs/{job.id}")

    async def _diarized(
        self, key_id: str, prepared: PreparedTranscription, result: TranscriptionResult
    ) -> Diarization:
        embedder, enrolled = await self._biometrics.enrolled_prints(key_id=key_id)
        return await diarize(
            prepared.audio,
            result.transcript.segments,
            embedder=embedder,
            enrolled=enrolled,
            match_threshold=self._biometrics.settings.threshold,
        )

    async def _meter(
        self,
        job: Job,
        *,
        kind: str,
        entry: str,
        backend: str,
        audio_in_s: float,
        audio_out_s: float = 0.0,
    ) -> None:
        """Metered before the job is marked finished, keyed by the job: a job run again after a
        crash here is counted once, and never lost."""
        await self._recorder.record_usage(
            UsageRecord(
                key_id=job.key_id,
                kind=kind,
                entry=entry,
                backend=backend,
                audio_in_s=audio_in_s,
                audio_out_s=audio_out_s,
                event_key=f"job:{job.id}",
            )
        )

    async def _finish(
        self,
        job: Job,
        *,
        result: dict[str, Any],
        audio_key: str | None = None,
        audio_duration_s: float | None = None,
    ) -> None:
        async with self._sessions() as session:
            await job_queries.finish_job(
                session,
                job_id=job.id,
                status=JobStatus.READY,
                attempt=job.attempts,
                audio_key=audio_key,
                audio_duration_s=audio_duration_s,
                result=result,
            )
            await session.commit()

    async def _progress(self, job: Job, fraction: float) -> bool:
        """Record progress; False when the job is no longer running (cancelled: the caller
        discards what it stored and raises JobCancelled, which the runner counts as such)."""
        async with self._sessions() as session:
            running = await job_queries.set_progress(session, job_id=job.id, progress=fraction)
            await session.commit()
        return running
