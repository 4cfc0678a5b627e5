"""Job dispatch. The queue only carries job ids; the job's database row is the truth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

JobHandler = Callable[[str], Awaitable[None]]
"""Runs one job by id. It must be idempotent: a finished job handed to it again does nothing."""


class JobQueue(Protocol):
    async def start(self, handler: JobHandler) -> None:
        """Begin taking jobs, each handed to ``handler``."""
        ...

    async def submit(self, job_id: str) -> None:
        """Queue a job id (at least once delivery)."""
        ...

    async def stop(self) -> None:
        """Stop taking jobs and wait for running ones to finish or be abandoned."""
        ...

    @property
    def depth(self) -> int:
        """Jobs waiting (not yet started), as far as this process knows."""
        ...

    async def taken(self, job_id: str) -> None:
        """A worker took ``job_id`` off the queue and tried to claim it (the claim is settled
        in the database, won or lost): the queue no longer holds it."""
        ...

    async def holding(self, job_ids: Sequence[str]) -> set[str]:
        """Which of ``job_ids`` wait in this queue, not yet taken by a worker.

        The database sweep re-enqueues unfinished jobs that no queue holds (a broker that
        restarted empty, a submit that never reached it). Raises ``QueueUnavailable`` when
        the broker cannot be asked.
        """
        ...
