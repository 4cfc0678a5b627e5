"""Builds every service from Settings, once, and starts and stops them together.

The API keeps one ``Services`` on ``app.state``; the CLI builds its own with the same settings.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from voxclone import __version__
from voxclone.config import Settings
from voxclone.db import jobs as job_queries
from voxclone.db.migrate import upgrade_database
from voxclone.db.session import create_db_engine, create_session_factory
from voxclone.engines.engines_file import engine_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.queue.base import JobQueue
from voxclone.queue.factory import open_job_queue
from voxclone.services.billing import BillingService
from voxclone.services.biometrics import BiometricsService
from voxclone.services.callbacks import CallbackService
from voxclone.services.denoise import DenoiseService
from voxclone.services.job_events import JobEvents
from voxclone.services.jobs import JobService
from voxclone.services.keys import KeyService, ensure_admin_key
from voxclone.services.metrics import Metrics
from voxclone.services.oneshot import OneShotService
from voxclone.services.outbound_http import UrlGuard
from voxclone.services.reference_fetch import ReferenceFetcher
from voxclone.services.runner import JobRunner
from voxclone.services.sweeper import JobSweeper
from voxclone.services.synthesis import (
    Admission,
    Planner,
    Recorder,
    Renderer,
    Router,
    SynthesisCache,
    SynthesisService,
)
from voxclone.services.synthesis.admit import open_rate_storage
from voxclone.services.transcription import TranscriptionService
from voxclone.services.usage import UsageService
from voxclone.services.voices import VoiceService
from voxclone.services.webhooks import WebhookService
from voxclone.storage.base import BlobStore
from voxclone.storage.factory import open_blob_store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    engines: EngineRegistry
    queue: JobQueue
    keys: KeyService
    voices: VoiceService
    synthesis: SynthesisService
    runner: JobRunner
    jobs: JobService
    oneshot: OneShotService
    biometrics: BiometricsService
    transcription: TranscriptionService
    denoise: DenoiseService
    admin_key: str
    admin_key_generated: bool
    metrics: Metrics
    """This process's Prometheus metrics, on a registry of its own (GET /metrics)."""
    job_events: JobEvents
    """Listeners told when a job ends (outbound webhooks)."""
    webhooks: WebhookService
    """Outbound webhooks: deliveries for finished jobs, and the dispatcher that retries them."""
    fetcher: ReferenceFetcher
    """Reference clips fetched from a URL (``reference_audio_url``), SSRF-guarded."""
    callbacks: CallbackService
    """Jobs of callback engines: their completions (POST /v1/jobs/{id}/complete), time-outs."""
    usage: UsageService
    """Usage metering: every billable act, and the characters each key used."""
    admission: Admission
    """The admit step: rate limits, quotas and concurrency of keys."""
    recorder: Recorder
    """The record step: usage of every synthesis and speech-service act."""
    version: str = __version__
    started_at: float = 0.0
    started_unix: int = 0
    """When ``start`` ran, in Unix seconds (``created`` of the models in GET /v1/models)."""
    sweeper: JobSweeper | None = None
    """Distributed mode only: re-enqueues from the database the jobs the queue lost."""
    billing: BillingService | None = None
    """Signup and Stripe billing; None unless ``billing.stripe_secret_key`` is set."""

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_at if self.started_at else 0.0

    async def start(self, *, run_jobs: bool = True) -> None:
        """Apply migrations, start the job workers, and re-queue jobs a restart interrupted.

        In the distributed mode the workers are other processes (``voxclone worker``); this
        host starts the sweep that re-enqueues jobs the queue lost, instead of re-queueing
        every unfinished job (other hosts' workers may be running them).
        """
        await upgrade_database(self.settings.resolved_database_url)
        self.started_at = time.monotonic()
        self.started_unix = int(time.time())
        if not run_jobs:
            return
        self.callbacks.start()
        await self.queue.start(self.runner)
        self.webhooks.start()
        if self.sweeper is not None:
            self.sweeper.start()
            return
        async with self.sessions() as session:
            unfinished = await job_queries.list_unfinished_job_ids(session)
        for job_id in unfinished:
            await self.queue.submit(job_id)
        if unfinished:
            log.info("re-queued %d unfinished job(s) from before the restart", len(unfinished))

    async def close(self) -> None:
        if self.billing is not None:
            await self.billing.close()
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.callbacks.stop()
        await self.queue.stop()
        await self.webhooks.close()  # after the jobs: the last ones' first attempts finish
        await self.synthesis.close()
        await self.usage.close()
        self.engines.close()
        await self.db.dispose()


def build_services(settings: Settings, *, engines: EngineRegistry | None = None) -> Services:
    """Wire everything up. Nothing is loaded yet: engines load on first use, the DB on start."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    admin_key, generated = ensure_admin_key(
        settings.data_dir,
        settings.admin_key.get_secret_value() if settings.admin_key else None,
    )
    db = create_db_engine(settings.resolved_database_url)
    sessions = create_session_factory(db)
    blobs = open_blob_store(settings.resolved_storage_url, s3=settings.s3)
    registry = engines if engines is not None else EngineRegistry(engine_specs(settings))
    queue = open_job_queue(settings)
    metrics = Metrics(engines=registry)
    job_events = JobEvents(sessions=sessions)
    url_guard = UrlGuard(allow_private=settings.webhooks.allow_private_urls)
    webhooks = WebhookService(sessions=sessions, settings=settings.webhooks, guard=url_guard)
    job_events.subscribe(webhooks.on_job_finished)
    usage = UsageService(
        sessions=sessions,
        cache_s=settings.quotas.usage_cache_s,
        default_char_quota=settings.quotas.monthly_char_quota,
    )
    sole_worker = settings.queue == "inprocess"
    transcription = TranscriptionService(
        engines=registry, limits=settings.limits, default_backend=settings.default_stt_backend
    )
    voices = VoiceService(
        sessions=sessions,
        blobs=blobs,
        engines=registry,
        limits=settings.limits,
        default_backend=settings.default_backend,
        queue=queue,
        transcription=transcription if settings.auto_transcribe_references else None,
    )
    callbacks = CallbackService(
        sessions=sessions,
        blobs=blobs,
        voices=voices,
        events=job_events,
        settings=settings.callbacks,
        base_url=f"http://{settings.host}:{settings.port}",
        cache_enabled=settings.cache_enabled,
        metrics=metrics,
        usage=usage,
    )
    router = Router(engines=registry)
    admission = Admission(
        usage=usage,
        sessions=sessions,
        quotas=settings.quotas,
        rate_storage=open_rate_storage(settings.quotas, settings.redis_url),
    )
    recorder = Recorder(usage=usage)
    synthesis = SynthesisService(
        sessions=sessions,
        blobs=blobs,
        queue=queue,
        planner=Planner(voices=voices, engines=registry, router=router, limits=settings.limits),
        admission=admission,
        cache=SynthesisCache(
            sessions=sessions, blobs=blobs, metrics=metrics, enabled=settings.cache_enabled
        ),
        router=router,
        renderer=Renderer(voices=voices, metrics=metrics),
        recorder=recorder,
        callbacks=callbacks,
    )
    biometrics = BiometricsService(
        sessions=sessions,
        blobs=blobs,
        engines=registry,
        queue=queue,
        settings=settings.biometrics,
        limits=settings.limits,
        usage=usage,
    )
    runner = JobRunner(
        sessions=sessions,
        synthesis=synthesis,
        voices=voices,
        biometrics=biometrics,
        max_attempts=settings.jobs.max_attempts,
        lease_s=settings.jobs.lease_s,
        heartbeat_s=settings.jobs.heartbeat_s,
        sole_worker=sole_worker,
        queue=queue,
        metrics=metrics,
        job_events=job_events,
    )
    keys = KeyService(sessions=sessions, admin_key=admin_key, cache_s=settings.auth_cache_s)
    billing = None
    if settings.billing.enabled:
        billing = BillingService(sessions=sessions, keys=keys, settings=settings.billing)
    sweeper = None
    if not sole_worker:
        sweeper = JobSweeper(
            sessions=sessions,
            queue=queue,
            lease_s=settings.jobs.lease_s,
            requeue_after_s=settings.jobs.requeue_after_s,
            interval_s=settings.jobs.sweep_s,
        )
    return Services(
        settings=settings,
        db=db,
        sessions=sessions,
        blobs=blobs,
        engines=registry,
        queue=queue,
        keys=keys,
        voices=voices,
        synthesis=synthesis,
        runner=runner,
        jobs=JobService(sessions=sessions, blobs=blobs, job_events=job_events),
        oneshot=OneShotService(
            engines=registry,
            synthesis=synthesis,
            limits=settings.limits,
            default_backend=settings.default_backend,
        ),
        biometrics=biometrics,
        transcription=transcription,
        denoise=DenoiseService(
            engines=registry, limits=settings.limits, settings=settings.deepfilter
        ),
        admin_key=admin_key,
        admin_key_generated=generated,
        metrics=metrics,
        job_events=job_events,
        webhooks=webhooks,
        fetcher=ReferenceFetcher(guard=url_guard, timeout_s=settings.webhooks.fetch_timeout_s),
        callbacks=callbacks,
        usage=usage,
        admission=admission,
        recorder=recorder,
        sweeper=sweeper,
        billing=billing,
    )
