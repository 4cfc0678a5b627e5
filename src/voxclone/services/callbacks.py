"""Jobs rendered by callback engines: handing them over, taking their completion, timing out.

A synthesis job whose engine is a ``CallbackTTSEngine`` (serverless GPUs) is handed over by
``hand_over``: a fresh secret is made for the job, only its SHA-256 is stored
(``jobs.callback_secret_hash``), and the engine is triggered with the secret and the job's
``callback_url``. The job stays running, with no lease (the runner and the sweep leave it
alone), until one of:

- ``complete`` (``POST /v1/jobs/{id}/complete``): the presented Bearer secret is hashed and
  compared in constant time with the stored hash; a job already ended answers ``ignored`` and
  nothing changes (a replay, or a worker that retried); otherwise the audio is decoded and
  checked before anything is stored, then stored as the job's audio in its requested format
  (under a key of this completion's own, so a losing racer cannot overwrite the winner's),
  put in the synthesis cache under the job's cache key, metered (``UsageService``, keyed by
  the job like every synthesis job), and the job ends ready. Unusable audio (or neither audio
  nor an error) fails the job and is refused with 422. The final UPDATE is conditional, so of
  two completions racing, one finishes the job;
- ``expire_overdue``, run every ``check_s`` by each API host: a job whose completion has not
  come ``timeout_s`` after its trigger fails, saying so.

Either way the job's end goes to ``JobEvents`` (outbound webhooks).
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, encode_audio
from voxclone.config import CallbackSettings
from voxclone.core.errors import (
    AuthenticationError,
    InvalidAudio,
    InvalidInput,
    VoxcloneError,
)
from voxclone.core.types import Audio, JobStatus, parse_id
from voxclone.db import cache as cache_queries
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, Voice, utcnow
from voxclone.engines.base import CallbackTrigger, CallbackTTSEngine, SynthesisParams, TTSEngine
from voxclone.services.job_events import TERMINAL, JobEvents
from voxclone.services.metrics import Metrics
from voxclone.services.periodic import Periodic
from voxclone.services.usage import UsageRecord, UsageService
from voxclone.services.voices import VoiceService
from voxclone.storage.base import BlobStore

log = logging.getLogger(__name__)

MAX_COMPLETION_SECONDS = 3600.0
"""The longest audio a completion may carry (checked from the header before decoding)."""
MAX_ERROR_CHARS = 500

Outcome = Literal["ready", "failed", "ignored"]


class AwaitingCallback(Exception):
    """Raised out of a job's run once a callback engine has the job: it stays running until
    its completion or its timeout, so the runner records no end for it."""


@dataclass(frozen=True, slots=True)
class Completion:
    """What a worker POSTs to ``/v1/jobs/{id}/complete``: audio (base64 of a WAV, FLAC, OGG
    or MP3 file) or an error."""

    job_id: str | None = None
    audio_b64: str | None = None
    error: str | None = None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class CallbackService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        voices: VoiceService,
        events: JobEvents,
        settings: CallbackSettings,
        base_url: str,
        cache_enabled: bool = True,
        metrics: Metrics | None = None,
        usage: UsageService | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._voices = voices
        self._events = events
        self._settings = settings
        self._base_url = (settings.public_url or base_url).rstrip("/")
        self._cache_enabled = cache_enabled
        self._metrics = metrics or Metrics()
        self._usage = usage
        self._loop = Periodic("callback-timeouts", self.expire_overdue, settings.check_s)

    @staticmethod
    def handles(engine: TTSEngine) -> bool:
        """True when ``engine`` renders elsewhere and calls back."""
        return isinstance(engine, CallbackTTSEngine)

    def callback_url(self, job_id: str) -> str:
        return f"{self._base_url}/v1/jobs/{job_id}/complete"

    # --- handing over ------------------------------------------------------------------------

    async def hand_over(
        self,
        job: Job,
        *,
        voice: Voice,
        engine: TTSEngine,
        text: str,
        params: SynthesisParams,
        cache_key: str,
    ) -> NoReturn:
        """Trigger ``engine`` with the job; raises AwaitingCallback once it accepted it.

        The secret's hash is stored before the trigger, so a worker that answers at once is
        recognised. A failed trigger raises the engine's error (the runner fails the job).
        """
        if not isinstance(engine, CallbackTTSEngine):
            raise TypeError(f"engine {engine.name!r} does not call back")
        prompt = await self._voices.prompt_for(voice, engine)
        secret = secrets.token_urlsafe(32)
        async with self._sessions() as session:
            held = await job_queries.await_callback(
                session, job_id=job.id, attempt=job.attempts, secret_hash=secret_hash(secret)
            )
            await session.commit()
        if not held:
            log.info("job %s: no longer this worker's; not triggering %s", job.id, engine.name)
            raise AwaitingCallback(job.id)
        trigger = CallbackTrigger(
            job_id=job.id,
            voice_id=voice.id,
            text=text,
            prompt=prompt,
            params=params,
            cache_key=cache_key,
            callback_url=self.callback_url(job.id),
            callback_secret=secret,
        )
        await asyncio.to_thread(engine.trigger, trigger)
        log.info("job %s: handed to %s, awaiting its callback", job.id, engine.name)
        raise AwaitingCallback(job.id)

    # --- completions -------------------------------------------------------------------------

    async def complete(self, *, job_id: str, secret: str | None, completion: Completion) -> Outcome:
        """Take a worker's completion of ``job_id``: ``ready``, ``failed`` (the worker's
        error), or ``ignored`` (the job had already ended; nothing changes).

        AuthenticationError when the secret is missing or is not this job's (another job's
        secret included; an unknown job says the same); InvalidInput when the body names
        another job; InvalidAudio (after failing the job) when the audio is unusable.
        """
        job_id = parse_id(job_id, what="job_id")
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id)
        if job is None or job.callback_secret_hash is None or not secret:
            raise AuthenticationError(f"no valid callback secret for job {job_id}")
        presented = secret_hash(secret).encode("ascii")
        if not hmac.compare_digest(presented, job.callback_secret_hash.encode("ascii")):
            raise AuthenticationError(f"no valid callback secret for job {job_id}")
        named = completion.job_id
        if named is not None and parse_id(named, what="job_id") != job.id:
            raise InvalidInput(
                f"the body's job_id {named!r} is not the job of the URL ({job.id})",
                field="job_id",
            )
        if job.status in TERMINAL:
            log.info("job %s: completion ignored, the job is already %s", job.id, job.status)
            return "ignored"
        backend = str(job.params.get("backend", "callback"))
        if completion.error:
            error = f"backend {backend!r} failed: {completion.error[:MAX_ERROR_CHARS]}"
            return "failed" if await self._fail(job, error) else "ignored"
        try:
            audio = _decode(completion)
            fmt = str(job.params.get("format", "wav"))
            data = await asyncio.to_thread(
                encode_audio, audio, fmt, sample_rate=job.params.get("sample_rate")
            )
        except VoxcloneError as exc:
            message = f"backend {backend!r} sent unusable audio: {exc.message}"
            await self._fail(job, message)
            raise InvalidAudio(message, job_id=job.id) from exc
        return await self._finish(job, audio=audio, data=data, fmt=fmt, backend=backend)

    async def _finish(
        self, job: Job, *, audio: Audio, data: bytes, fmt: str, backend: str
    ) -> Outcome:
        # A key of its own: racing completions must not overwrite the winner's audio.
        audio_key = f"jobs/{job.id}-{secrets.token_hex(4)}.{fmt}"
        duration = round(audio.duration_s, 3)
        await self._blobs.put(audio_key, data)
        await self._record_usage(job, backend=backend, duration=duration)
        async with self._sessions() as session:
            finished = await job_queries.finish_job(
                session,
                job_id=job.id,
                status=JobStatus.READY,
                audio_key=audio_key,
                audio_duration_s=duration,
                attempt=job.attempts,
            )
            await session.commit()
        if not finished:  # another completion won, or the job was cancelled meanwhile
            with contextlib.suppress(VoxcloneError):
                await self._blobs.delete(audio_key)
            return "ignored"
        await self._cache(job, data=data, fmt=fmt, backend=backend, duration=duration)
        self._metrics.note_job_finished(kind=job.kind, status=JobStatus.READY)
        await self._events.finished(job.id)
        return "ready"

    async def _record_usage(self, job: Job, *, backend: str, duration: float) -> None:
        """Meter the job as the synthesis pipeline meters its jobs: keyed by the job (so
        two racing completions count once), before the job is seen to be ready."""
        if self._usage is None:
            return
        await self._usage.record(
            UsageRecord(
                key_id=job.key_id,
                kind="tts",
                entry="job",
                backend=backend,
                voice_id=job.voice_id,
                characters=len(str(job.params.get("text", ""))),
                audio_out_s=duration,
                event_key=f"job:{job.id}",
            )
        )

    async def _cache(
        self, job: Job, *, data: bytes, fmt: str, backend: str, duration: float
    ) -> None:
        """Put the job's audio in the synthesis cache under the job's own cache key."""
        if not self._cache_enabled or job.cache_key is None or job.voice_id is None:
            return
        blob_key = f"voices/{job.voice_id}/cache/{job.cache_key}.{fmt}"
        started = job.started_at or utcnow()
        elapsed_ms = max(0, round((utcnow() - started).total_seconds() * 1000))
        await self._blobs.put(blob_key, data)
        async with self._sessions() as session:
            await cache_queries.put_entry(
                session,
                cache_key=job.cache_key,
                voice_id=job.voice_id,
                backend=backend,
                audio_key=blob_key,
                audio_duration_s=duration,
                synthesis_ms=elapsed_ms,
            )
            await session.commit()

    async def _fail(self, job: Job, error: str) -> bool:
        async with self._sessions() as session:
            failed = await job_queries.finish_job(
                session, job_id=job.id, status=JobStatus.FAILED, error=error, attempt=job.attempts
            )
            await session.commit()
        if failed:
            log.info("job %s failed: %s", job.id, error)
            self._metrics.note_job_finished(kind=job.kind, status=JobStatus.FAILED)
            await self._events.finished(job.id)
        return failed

    # --- time-outs ---------------------------------------------------------------------------

    async def expire_overdue(self) -> list[str]:
        """Fail the jobs whose completion is ``timeout_s`` late; their ids."""
        timeout = self._settings.timeout_s
        async with self._sessions() as session:
            overdue = await job_queries.list_overdue_callbacks(
                session, triggered_before=utcnow() - timedelta(seconds=timeout)
            )
        expired = []
        for job in overdue:
            backend = str(job.params.get("backend", "callback"))
            error = f"backend {backend!r} did not call back within {timeout:g} s"
            if await self._fail(job, error):
                expired.append(job.id)
        return expired

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


def _decode(completion: Completion) -> Audio:
    """The completion's audio, decoded and checked; Unprocessable when it is unusable."""
    if not completion.audio_b64:
        raise InvalidAudio("the completion carries neither audio nor an error")
    try:
        data = binascii.a2b_base64(completion.audio_b64.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidAudio(f"the audio is not base64 ({exc})") from exc
    audio = decode_audio(data, max_seconds=MAX_COMPLETION_SECONDS).audio
    if audio.samples.size == 0:
        raise InvalidAudio("the audio is empty")
    return audio
