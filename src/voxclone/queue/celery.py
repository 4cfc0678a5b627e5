"""Job dispatch on Celery with Redis as the broker (distributed mode, ``VOXCLONE_QUEUE=celery``).

API hosts enqueue job ids; ``voxclone worker`` processes consume them and run each with the
same ``JobRunner`` as the embedded mode. The job row stays the truth; Redis only carries ids:

- **At least once.** Messages are acknowledged after the job ran (``acks_late``), a message
  whose worker process died is handed back (``reject_on_worker_lost``), and a message whose
  whole worker host died is redelivered by Redis after ``visibility_timeout_s``. Each worker
  process holds one message at a time (prefetch 1), so a dead worker strands one job at most.
- **Idempotent.** A redelivered id is harmless: the runner's claim is one conditional UPDATE,
  and a job that finished, or that a live worker holds (its lease is fresh), is not claimed.
- **Nothing lost with Redis.** Next to the Celery queue, a Redis set names the jobs waiting in
  it. A worker removes an id once it took the message and tried to claim the job. When Redis
  restarts empty, or a submit
  never reached it, the database sweep (``services.sweeper``) finds unfinished jobs that no
  queue holds and enqueues them again.

Celery and redis-py come with ``pip install 'voxclone[distributed]'``; they are imported only
when this queue is built.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from voxclone.core.errors import QueueUnavailable
from voxclone.queue.base import JobHandler

log = logging.getLogger(__name__)

RUN_JOB_TASK = "voxclone.run_job"
"""The Celery task name; its one argument is a job id."""

EXTRA = "distributed"


def require(module: str) -> ModuleType:
    """Import an optional dependency of the distributed mode, or say which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"VOXCLONE_QUEUE=celery needs {module.split('.')[0]!r}: "
            f"pip install 'voxclone[{EXTRA}]'",
            name=exc.name,
        ) from exc


def waiting_key(queue_name: str) -> str:
    """The Redis set of job ids waiting in the Celery queue ``queue_name``."""
    return f"{queue_name}.waiting-jobs"


def create_celery_app(*, redis_url: str, queue_name: str, visibility_timeout_s: float) -> Any:
    """The Celery app both sides share: API hosts send with it, workers consume with it."""
    celery = require("celery")
    app = celery.Celery("voxclone", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue_name,
        task_create_missing_queues=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # At least once: acknowledge after the job ran; hand the message back when the
        # worker process dies under it; one unacknowledged message per worker process.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": visibility_timeout_s,
            "socket_connect_timeout": 3,
            "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout_s / 10)),
            "unacked_restore_throttle": 1,
        },
        # A running job keeps running across a broker reconnection: its row, not the
        # message, is the truth, and the sweep re-enqueues what Redis forgot.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # API hosts: fail a publish fast when Redis is down; the sweep enqueues it later.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
    )
    return app


class CeleryQueue:
    """The API side of the Celery queue: ``submit`` enqueues, ``holding`` answers the sweep.

    ``start`` consumes nothing: jobs run in ``voxclone worker`` processes. A submit that
    cannot reach Redis is logged, not raised: the job row is already committed and the
    database sweep enqueues it once Redis answers again.
    """

    def __init__(
        self, *, redis_url: str, queue_name: str = "voxclone", visibility_timeout_s: float = 300.0
    ) -> None:
        self.queue_name = queue_name
        self._redis_url = redis_url
        self._visibility_timeout_s = visibility_timeout_s
        self._waiting = waiting_key(queue_name)
        self._app: Any = None
        self._client: Any = None
        self._depth = 0

    def __repr__(self) -> str:
        return f"CeleryQueue(queue_name={self.queue_name!r})"

    @property
    def app(self) -> Any:
        """The Celery app, created on first use."""
        if self._app is None:
            self._app = create_celery_app(
                redis_url=self._redis_url,
                queue_name=self.queue_name,
                visibility_timeout_s=self._visibility_timeout_s,
            )
        return self._app

    def _redis(self) -> Any:
        if self._client is None:
            redis = require("redis.asyncio")
            self._client = redis.Redis.from_url(
                self._redis_url, socket_connect_timeout=3, socket_timeout=10
            )
        return self._client

    async def start(self, handler: JobHandler) -> None:
        """Nothing to start on an API host: ``voxclone worker`` runs the jobs."""
        self.app  # noqa: B018 - fail at start-up, not on the first request, if celery is missing
        self._redis()

    async def submit(self, job_id: str) -> None:
        try:
            await asyncio.to_thread(self._send, job_id)
            await self._redis().sadd(self._waiting, job_id)
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            log.warning(
                "job %s: the queue is unreachable (%s); it stays pending and the database "
                "sweep enqueues it when Redis answers",
                job_id,
                exc,
            )

    def _send(self, job_id: str) -> None:
        # Straight into the queue's Redis list (the default exchange), not through an exchange
        # binding: bindings live in Redis too, and right after Redis restarts empty a message
        # routed through a missing binding would be dropped.
        self.app.send_task(RUN_JOB_TASK, args=[job_id], exchange="", routing_key=self.queue_name)

    async def taken(self, job_id: str) -> None:
        """A worker took the message for ``job_id`` and settled its claim: it no longer waits.

        Called after the claim, never before: a sweep that finds the id gone from the set
        then also finds the claim in the database, so it does not enqueue the job again.
        """
        try:
            await self._redis().srem(self._waiting, job_id)
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            log.warning("job %s: could not mark it taken: %s", job_id, exc)

    async def holding(self, job_ids: Sequence[str]) -> set[str]:
        if not job_ids:
            return set()
        try:
            async with self._redis().pipeline(transaction=False) as pipe:
                pipe.smismember(self._waiting, list(job_ids))
                pipe.llen(self.queue_name)
                members, depth = await pipe.execute()
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            raise QueueUnavailable(f"the job queue (Redis) is unreachable: {exc}") from exc
        self._depth = int(depth)
        return {job_id for job_id, member in zip(job_ids, members, strict=True) if member}

    @property
    def depth(self) -> int:
        """Messages in the Redis queue when the sweep last looked."""
        return self._depth

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._app is not None:
            await asyncio.to_thread(self._app.close)
            self._app = None


def _is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the broker could not be reached (rather than a bug)."""
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    kombu = require("kombu.exceptions")
    redis = require("redis.exceptions")
    return isinstance(exc, kombu.OperationalError | redis.ConnectionError | redis.TimeoutError)
