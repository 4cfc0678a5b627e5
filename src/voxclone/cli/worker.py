"""``voxclone worker``: a Celery worker that runs jobs with the same services as the server.

The worker's main process only talks to Redis. Each pool process (``concurrency`` of them,
forked at start) builds the services once, on its own event loop, and keeps them: engines are
loaded once per process and reused for every job it runs. A task is one job id, handed to the
same ``JobRunner`` as the embedded mode, which claims the job row (or does nothing when the
row says the job is finished or held elsewhere), renews its lease while it runs, and records
the outcome on the row.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from voxclone.config import Settings
from voxclone.engines.registry import EngineRegistry
from voxclone.queue.celery import RUN_JOB_TASK, create_celery_app, require
from voxclone.services.container import Services, build_services

log = logging.getLogger(__name__)


class WorkerProcess:
    """The services of one worker pool process, built on first use and kept until exit."""

    def __init__(self, settings: Settings, engines: EngineRegistry | None = None) -> None:
        self._settings = settings
        self._engines = engines
        self._services: Services | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> Services:
        if self._services is None:
            loop = asyncio.new_event_loop()
            services = build_services(self._settings, engines=self._engines)
            try:
                loop.run_until_complete(services.start(run_jobs=False))
            except BaseException:  # the database is not there yet: try again on the next job
                loop.run_until_complete(services.close())
                loop.close()
                raise
            self._loop, self._services = loop, services
            if self._settings.worker.preload:
                self._preload(services)
            log.info("worker process %d ready", os.getpid())
        return self._services

    def _preload(self, services: Services) -> None:
        name = services.settings.default_backend
        try:
            services.engines.get(name)
        except Exception as exc:  # the job that needs it will report the failure
            log.warning("could not preload engine %r: %s", name, exc)

    def run(self, job_id: str) -> None:
        services = self.start()
        assert self._loop is not None
        self._loop.run_until_complete(services.runner(job_id))

    def close(self) -> None:
        if self._services is not None and self._loop is not None:
            self._loop.run_until_complete(self._services.close())
            self._loop.close()
        self._services, self._loop = None, None


def create_worker_app(settings: Settings, process: WorkerProcess) -> Any:
    """The Celery app with the job task registered and the pool processes wired up."""
    if settings.queue != "celery" or settings.redis_url is None:
        raise ValueError("voxclone worker needs VOXCLONE_QUEUE=celery and VOXCLONE_REDIS_URL")
    app = create_celery_app(
        redis_url=settings.redis_url,
        queue_name=settings.worker.queue_name,
        visibility_timeout_s=settings.worker.visibility_timeout_s,
    )

    @app.task(name=RUN_JOB_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> None:
        process.run(job_id)

    signals = require("celery.signals")
    signals.worker_process_init.connect(lambda **_: process.start(), weak=False)
    signals.worker_process_shutdown.connect(lambda **_: process.close(), weak=False)
    return app


def run_worker(
    settings: Settings,
    *,
    engines: EngineRegistry | None = None,
    concurrency: int | None = None,
    pool: str = "prefork",
) -> int:
    """Run a worker until it is stopped (SIGTERM: finish running jobs, then exit)."""
    process = WorkerProcess(settings, engines)
    app = create_worker_app(settings, process)
    if pool == "solo":  # one process: this one runs the jobs
        signals = require("celery.signals")
        signals.worker_shutdown.connect(lambda **_: process.close(), weak=False)
    worker = app.Worker(
        hostname=f"voxclone@{socket.gethostname()}:{os.getpid()}",
        pool=pool,
        concurrency=concurrency or settings.worker.concurrency,
        queues=[settings.worker.queue_name],
        loglevel=settings.log_level.upper(),
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
        optimization="fair",
    )
    worker.start()
    return int(worker.exitcode or 0)
