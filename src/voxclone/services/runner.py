"""The job handler the queue calls: claims a job, dispatches it by kind, records failures.

Idempotent: a job that is already finished (or held by a live worker) is not claimed, so a
redelivered id does nothing. A job left ``running`` by a process that died is claimed again,
up to ``max_attempts`` times.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import VoxcloneError
from voxclone.core.types import JobKind, JobStatus
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job, utcnow
from voxclone.services.synthesis import JobCancelled, SynthesisService
from voxclone.services.voices import VoiceService

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        synthesis: SynthesisService,
        voices: VoiceService,
        max_attempts: int,
    ) -> None:
        self._sessions = sessions
        self._synthesis = synthesis
        self._voices = voices
        self._max_attempts = max_attempts
        # A job marked running that started before this process did was abandoned by a
        # previous process (a crash or restart): this one may claim it again.
        self._process_started = utcnow()

    async def __call__(self, job_id: str) -> None:
        async with self._sessions() as session:
            job = await job_queries.claim_job(
                session, job_id=job_id, stale_before=self._process_started
            )
            await session.commit()
        if job is None:
            return
        if job.attempts > self._max_attempts:
            await self._give_up(job, f"interrupted {job.attempts - 1} times; giving up")
            return
        try:
            if job.kind == JobKind.FIT_VOICE:
                await self._voices.run_fit(job)
            else:
                await self._synthesis.run(job)
        except JobCancelled:
            return
        except VoxcloneError as exc:
            await self._give_up(job, exc.message)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            await self._give_up(job, f"internal error: {type(exc).__name__}")

    async def _give_up(self, job: Job, message: str) -> None:
        async with self._sessions() as session:
            await job_queries.finish_job(
                session, job_id=job.id, status=JobStatus.FAILED, error=message
            )
            await session.commit()
        if job.kind == JobKind.FIT_VOICE and job.voice_id:
            await self._voices.mark_fit_failed(voice_id=job.voice_id, error=message)
