"""Jobs as their owners see them: status, audio, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import media_type
from voxclone.core.errors import JobNotReady, NotFound, StorageError
from voxclone.core.types import JobStatus, parse_id
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job
from voxclone.services.cursors import decode_cursor, encode_cursor
from voxclone.services.job_events import JobEvents
from voxclone.storage.base import BlobStore


@dataclass(frozen=True, slots=True)
class JobAudio:
    chunks: AsyncIterator[bytes]
    media_type: str
    size: int
    duration_s: float | None


class JobService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        job_events: JobEvents | None = None,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._job_events = job_events

    async def page(
        self,
        *,
        key_id: str,
        limit: int = 50,
        kind: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """The key's jobs, newest first, and the cursor of the next page (None: the last)."""
        after = decode_cursor(cursor) if cursor else None
        async with self._sessions() as session:
            jobs = await job_queries.list_jobs(
                session, key_id=key_id, limit=limit + 1, kind=kind, status=status, after=after
            )
        if len(jobs) <= limit:
            return jobs, None
        last = jobs[limit - 1]
        return jobs[:limit], encode_cursor(last.created_at, last.id)

    async def get(self, *, key_id: str, job_id: str) -> Job:
        job_id = parse_id(job_id, what="job_id")
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id, key_id=key_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return job

    async def audio(self, *, key_id: str, job_id: str) -> JobAudio:
        job = await self.get(key_id=key_id, job_id=job_id)
        if job.status != JobStatus.READY or job.audio_key is None:
            raise JobNotReady(
                f"job {job.id} has no audio: its status is {job.status}",
                job_id=job.id,
                status=job.status,
            )
        try:
            size = await self._blobs.size(job.audio_key)
        except StorageError:
            # The row says ready but the audio is gone: say so on the job too (afterwords).
            async with self._sessions() as session:
                await job_queries.mark_failed(
                    session, job_id=job.id, error="audio missing from storage"
                )
                await session.commit()
            raise
        fmt = job.audio_key.rsplit(".", 1)[-1]
        return JobAudio(
            chunks=self._blobs.stream(job.audio_key),
            media_type=media_type(fmt),
            size=size,
            duration_s=job.audio_duration_s,
        )

    async def cancel(self, *, key_id: str, job_id: str) -> Job:
        """Cancel a pending or running job; a finished job is returned unchanged."""
        job = await self.get(key_id=key_id, job_id=job_id)
        async with self._sessions() as session:
            await job_queries.cancel_job(session, job_id=job.id)
            await session.commit()
        if self._job_events is not None:
            await self._job_events.finished(job.id)  # a no-op for a job still unfinished
        return await self.get(key_id=key_id, job_id=job.id)
