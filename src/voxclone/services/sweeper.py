"""Re-enqueue, from the database, the jobs a distributed queue lost.

The job row is the truth; Redis only carries ids, and may lose them: it restarted with no
persistence, a submit failed while it was down, or a worker died holding a message. Every
``interval_s`` each API host asks the database for unfinished jobs that should be moving:

- pending jobs older than ``requeue_after_s`` (a fresh job is given time to be picked up);
- running jobs whose lease ran out (their worker stopped renewing it: it died);

then asks the queue which of them it still holds, and enqueues the rest again. Enqueueing a
job twice is harmless (the runner's claim is idempotent), so several API hosts may sweep at
once, and a sweep that races a worker costs one redundant message at most.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import QueueUnavailable
from voxclone.db import jobs as job_queries
from voxclone.db.tables import utcnow
from voxclone.queue.base import JobQueue
from voxclone.services.periodic import Periodic

log = logging.getLogger(__name__)


class JobSweeper:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        queue: JobQueue,
        lease_s: float,
        requeue_after_s: float,
        interval_s: float,
        batch: int = 1000,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._lease = timedelta(seconds=lease_s)
        self._requeue_after = timedelta(seconds=requeue_after_s)
        self._interval_s = interval_s
        self._batch = batch
        self._loop = Periodic("job-sweeper", self._sweep_unless_queue_away, interval_s)

    async def sweep(self) -> list[str]:
        """One pass: the ids it enqueued again. ``QueueUnavailable`` if Redis is down."""
        candidates = await self._candidates()
        if not candidates:
            return []
        held = await self._queue.holding(candidates)
        # Read the rows again: a worker drops an id from the queue's set only after settling
        # its claim, so a job that left the set since the first read shows as claimed now.
        lost = await self._candidates(among=[j for j in candidates if j not in held])
        for job_id in lost:
            await self._queue.submit(job_id)
        if lost:
            shown = ", ".join(lost[:5]) + (" ..." if len(lost) > 5 else "")
            log.info("re-enqueued %d job(s) that the queue did not hold: %s", len(lost), shown)
        return lost

    async def _candidates(self, among: list[str] | None = None) -> list[str]:
        if among is not None and not among:
            return []
        now = utcnow()
        async with self._sessions() as session:
            return await job_queries.list_lost_job_candidates(
                session,
                created_before=now - self._requeue_after,
                stale_before=now - self._lease,
                limit=self._batch,
                among=among,
            )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep_unless_queue_away(self) -> None:
        try:
            await self.sweep()
        except QueueUnavailable as exc:
            log.warning("job sweep skipped: %s", exc)
