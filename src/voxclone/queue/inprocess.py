"""The embedded job queue: an asyncio queue drained by a few worker tasks in this process.

Jobs that were pending or running when the process stopped are not lost: their rows are still
in the database, and the application re-submits them at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from voxclone.queue.base import JobHandler

log = logging.getLogger(__name__)


class InProcessQueue:
    def __init__(self, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._workers = workers
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._handler: JobHandler | None = None
        self._queued: set[str] = set()

    async def start(self, handler: JobHandler) -> None:
        if self._tasks:
            raise RuntimeError("queue already started")
        self._handler = handler
        self._tasks = [
            asyncio.create_task(self._work(), name=f"voxclone-worker-{i}")
            for i in range(self._workers)
        ]

    async def submit(self, job_id: str) -> None:
        if job_id in self._queued:
            return
        self._queued.add(job_id)
        await self._queue.put(job_id)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def taken(self, job_id: str) -> None:
        """Nothing to do: an id leaves ``_queued`` when a worker task dequeues it."""

    async def holding(self, job_ids: Sequence[str]) -> set[str]:
        return {job_id for job_id in job_ids if job_id in self._queued}

    async def join(self) -> None:
        """Wait until every submitted job has been handled (for tests and benchmarks)."""
        await self._queue.join()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        assert self._handler is not None
        while True:
            job_id = await self._queue.get()
            self._queued.discard(job_id)
            try:
                await self._handler(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The handler records failures on the job row; this is a bug guard only.
                log.exception("job %s: handler raised", job_id)
            finally:
                self._queue.task_done()
