"""The job handler the queue calls: claims a job, dispatches it by kind, records failures.

Idempotent: a job that is already finished (or held by a live worker) is not claimed, so a
redelivered id does nothing. While a job runs, its worker renews a lease on the row
(``heartbeat_at``) every ``heartbeat_s``; a job whose lease ran out (its worker died) may be
claimed again, up to ``max_attempts`` times. When the row says the job is no longer this
worker's (it was cancelled from another host, or reclaimed after a stall), the work stops.
Once the claim is settled (won or lost) the runner tells the ``queue`` the job was taken.

Which running jobs count as abandoned depends on who else may run jobs:

- ``sole_worker`` (the embedded mode: this process is the only worker): a job marked running
  that started before this process did was abandoned by a previous process, so it may be
  claimed at once after a restart.
- otherwise (many workers on many hosts share the database): only a job whose lease expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import VoxcloneError
from voxclone.core.types import JobKind, JobStatus
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, utcnow
from voxclone.queue.base import JobQueue
from voxclone.services.callbacks import AwaitingCallback
from voxclone.services.job_events import JobEvents
from voxclone.services.metrics import Metrics
from voxclone.services.speaker_jobs import SpeakerJobs
from voxclone.services.speech_jobs import SpeechJobs
from voxclone.services.story_render import StoryRenderer
from voxclone.services.synthesis import JobCancelled, SynthesisService
from voxclone.services.voices import VoiceService

log = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid`` of this process, recorded on the jobs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        synthesis: SynthesisService,
        voices: VoiceService,
        max_attempts: int,
        lease_s: float = 60.0,
        heartbeat_s: float = 10.0,
        sole_worker: bool = True,
        queue: JobQueue | None = None,
        speaker_jobs: SpeakerJobs | None = None,
        metrics: Metrics | None = None,
        job_events: JobEvents | None = None,
        story_renderer: StoryRenderer | None = None,
        speech_jobs: SpeechJobs | None = None,
    ) -> None:
        if heartbeat_s * 2 > lease_s:
            raise ValueError(f"heartbeat_s ({heartbeat_s}) must be at most half of {lease_s=}")
        self._sessions = sessions
        self._synthesis = synthesis
        self._voices = voices
        self._speaker_jobs = speaker_jobs
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease_s)
        self._heartbeat_s = heartbeat_s
        self._sole_worker = sole_worker
        self._queue = queue
        self._process_started = utcnow()
        self._metrics = metrics or Metrics()
        self._job_events = job_events
        self._story_renderer = story_renderer
        self._speech_jobs = speech_jobs

    def _stale_before(self) -> datetime:
        if self._sole_worker:
            return max(self._process_started, utcnow() - self._lease)
        return utcnow() - self._lease

    async def __call__(self, job_id: str) -> None:
        try:
            async with self._sessions() as session:
                job = await job_queries.claim_job(
                    session, job_id=job_id, stale_before=self._stale_before(), worker=worker_name()
                )
                await session.commit()
        finally:
            if self._queue is not None:
                await self._queue.taken(job_id)
        if job is None:
            log.debug("job %s: not claimable (finished, or held by a live worker)", job_id)
            return
        if job.attempts == 1:
            self._metrics.note_job_started(
                kind=job.kind, created_at=job.created_at, started_at=job.started_at
            )
        if job.attempts > self._max_attempts:
            await self._give_up(job, f"interrupted {job.attempts - 1} times; giving up")
            self._metrics.note_job_finished(kind=job.kind, status=JobStatus.FAILED)
            await self._finished(job.id)
            return
        lost = asyncio.Event()
        work = asyncio.create_task(self._dispatch(job), name=f"voxclone-job-{job_id}")
        lease = asyncio.create_task(self._keep_lease(job, work, lost))
        try:
            status = await work
            if status != JobStatus.RUNNING:  # running: handed to a callback engine
                self._metrics.note_job_finished(kind=job.kind, status=status)
                await self._finished(job.id)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not lost.is_set() or (current is not None and current.cancelling()):
                if not lost.is_set():  # this worker is stopping: hand the job back
                    await self._hand_back(job)
                raise
            await self._after_losing(job)
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease

    async def _dispatch(self, job: Job) -> JobStatus:
        """Run the job; its final status (as far as this worker knows), or running when a
        callback engine has it (it ends with its completion or its timeout)."""
        try:
            if job.kind == JobKind.FIT_VOICE:
                await self._voices.run_fit(job)
            elif job.kind == JobKind.BIOMETRICS:
                if self._speaker_jobs is None:
                    raise VoxcloneError("this worker was built without the biometrics service")
                await self._speaker_jobs.run(job)
            elif job.kind == JobKind.STORY_RENDER:
                if self._story_renderer is None:
                    raise VoxcloneError("this worker was built without the story renderer")
                await self._story_renderer.run(job)
            elif job.kind in (JobKind.TRANSCRIBE, JobKind.DENOISE):
                if self._speech_jobs is None:
                    raise VoxcloneError("this worker was built without the speech jobs service")
                await self._speech_jobs.run(job)
            else:
                await self._synthesis.run(job)
        except JobCancelled:
            return JobStatus.CANCELLED
        except AwaitingCallback:
            return JobStatus.RUNNING
        except VoxcloneError as exc:
            await self._give_up(job, exc.message)
            return JobStatus.FAILED
        except Exception as exc:
            log.exception("job %s failed", job.id)
            await self._give_up(job, f"internal error: {type(exc).__name__}")
            return JobStatus.FAILED
        return JobStatus.READY

    async def _keep_lease(
        self, job: Job, work: asyncio.Task[JobStatus], lost: asyncio.Event
    ) -> None:
        """Renew the lease until the work ends; stop the work when the row is not ours."""
        while not work.done():
            await asyncio.sleep(self._heartbeat_s)
            try:
                async with self._sessions() as session:
                    held = await job_queries.heartbeat(session, job_id=job.id, attempt=job.attempts)
                    await session.commit()
            except Exception:
                # A database blip: keep working; the next beat may get through.
                log.warning("job %s: could not renew its lease", job.id, exc_info=True)
                continue
            if not held and not work.done():
                log.info("job %s is no longer held by this worker; stopping it", job.id)
                lost.set()
                work.cancel()
                return

    async def _hand_back(self, job: Job) -> None:
        """Make the job claimable again at once, and queue it for whoever runs jobs next
        (another worker now; in the embedded mode, this process's next start re-submits it)."""
        try:
            async with self._sessions() as session:
                released = await job_queries.release_job(
                    session, job_id=job.id, attempt=job.attempts
                )
                await session.commit()
            if released:
                log.info("job %s handed back on shutdown", job.id)
                if self._queue is not None and not self._sole_worker:
                    await self._queue.submit(job.id)
        except Exception:
            # The lease will run out instead, and the sweeper re-queues the job then.
            log.warning("job %s: could not hand it back", job.id, exc_info=True)

    async def _after_losing(self, job: Job) -> None:
        async with self._sessions() as session:
            now = await job_queries.get_job(session, job_id=job.id)
        if now is None or now.status != JobStatus.CANCELLED:
            return  # another worker holds it now, and counts it
        self._metrics.note_job_finished(kind=job.kind, status=JobStatus.CANCELLED)
        await self._finished(job.id)
        if job.kind == JobKind.FIT_VOICE:
            assert job.voice_id is not None
            await self._voices.mark_fit_failed(
                voice_id=job.voice_id, error="fitting was cancelled", job_id=job.id
            )
        else:
            await self._discard_input(job)

    async def _finished(self, job_id: str) -> None:
        """Tell the job's end to its listeners (webhooks); nothing if it has not ended."""
        if self._job_events is not None:
            await self._job_events.finished(job_id)

    async def _give_up(self, job: Job, message: str) -> None:
        await self._discard_input(job)  # before the job is seen to have failed
        async with self._sessions() as session:
            await job_queries.finish_job(
                session, job_id=job.id, status=JobStatus.FAILED, error=message, attempt=job.attempts
            )
            await session.commit()
        if job.kind == JobKind.FIT_VOICE and job.voice_id:
            await self._voices.mark_fit_failed(voice_id=job.voice_id, error=message, job_id=job.id)

    async def _discard_input(self, job: Job) -> None:
        """Delete what a job that failed or was cancelled stored to work on."""
        if job.kind == JobKind.BIOMETRICS and self._speaker_jobs is not None:
            await self._speaker_jobs.discard_input(job)
        elif job.kind in (JobKind.TRANSCRIBE, JobKind.DENOISE) and self._speech_jobs is not None:
            await self._speech_jobs.discard(job)
