"""Job dispatch. The queue only carries job ids; the job's database row is the truth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
