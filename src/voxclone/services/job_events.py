"""Who is told when a job ends: listeners called once a job reaches ready, failed or cancelled.

The runner, cancellation and inbound completions call ``finished``; the outbound webhooks
(and later, history) subscribe. A listener's failure is logged and never fails the job.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.types import JobStatus
from voxclone.db import jobs as job_queries
from voxclone.db.tables import Job

log = logging.getLogger(__name__)

JobListener = Callable[[Job], Awaitable[None]]
TERMINAL = frozenset({JobStatus.READY.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value})


class JobEvents:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._listeners: list[JobListener] = []

    def subscribe(self, listener: JobListener) -> None:
        self._listeners.append(listener)

    async def finished(self, job_id: str) -> None:
        """Tell every listener that the job ended, with its row as it is now; nothing when
        there are no listeners or the job has not ended."""
        if not self._listeners:
            return
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id)
        if job is None or job.status not in TERMINAL:
            return
        for listener in self._listeners:
            try:
                await listener(job)
            except Exception:
                log.exception("job %s: a listener for its end failed", job_id)
