"""Build the job queue that ``Settings.queue`` names."""

from __future__ import annotations

from voxclone.config import Settings
from voxclone.queue.base import JobQueue
from voxclone.queue.inprocess import InProcessQueue


def open_job_queue(settings: Settings) -> JobQueue:
    """``inprocess``: a pool in this process. ``celery``: Redis, drained by ``voxclone worker``."""
    if settings.queue == "celery":
        from voxclone.queue.celery import CeleryQueue

        assert settings.redis_url is not None  # Settings refuses celery without a redis url
        return CeleryQueue(
            redis_url=settings.redis_url,
            queue_name=settings.worker.queue_name,
            visibility_timeout_s=settings.worker.visibility_timeout_s,
        )
    return InProcessQueue(workers=settings.jobs.workers)
