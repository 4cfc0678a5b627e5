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
from voxclone.services.consent import ConsentService
from voxclone.services.denoise import DenoiseService
from voxclone.services.editing import EditingService
from voxclone.services.engine_unloader import EngineUnloader
from voxclone.services.heavy_slots import HeavySlots, open_slot_counter
from voxclone.services.history import HistoryService
from voxclone.services.history_record import HistoryRecorder
from voxclone.services.history_sweeper import HistorySweeper
from voxclone.services.job_events import JobEvents
from voxclone.services.jobs import JobService
from voxclone.services.keys import KeyService, ensure_admin_key
from voxclone.services.manifest_signing import ManifestSigner, ensure_signing_key
from voxclone.services.metrics import Metrics
from voxclone.services.oneshot import OneShotService
from voxclone.services.outbound_http import UrlGuard
from voxclone.services.pronunciation import PronunciationService
from voxclone.services.provenance import ProvenanceService
from voxclone.services.realtime import RealtimeService
from voxclone.services.reference_fetch import ReferenceFetcher
from voxclone.services.runner import JobRunner
from voxclone.services.speaker_jobs import SpeakerJobs
from voxclone.services.speech_jobs import SpeechJobs
from voxclone.services.state_cache import Invalidations
from voxclone.services.stories import StoryService
from voxclone.services.story_archive import StoryArchives
from voxclone.services.story_render import StoryRenderer
from voxclone.services.studio_sessions import StudioSessions
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
from voxclone.services.synthesis.mark import Marker
from voxclone.services.transcription import TranscriptionService
from voxclone.services.usage import UsageService
from voxclone.services.voice_archive import VoiceArchiveService
from voxclone.services.voice_profiles import VoiceSearch
from voxclone.services.voice_samples import VoiceSampleService
from voxclone.services.voices import VoiceService
from voxclone.services.watermark import WatermarkService
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
    voice_samples: VoiceSampleService
    """A voice's reference samples: add, list, play, remove (each change refits the voice)."""
    voice_archives: VoiceArchiveService
    """Voices as portable archives: export, import."""
    voice_search: VoiceSearch
    """A key's voices filtered by tag and name, sorted, a page at a time."""
    synthesis: SynthesisService
    runner: JobRunner
    jobs: JobService
    oneshot: OneShotService
    biometrics: BiometricsService
    speaker_jobs: SpeakerJobs
    """Who speaks when in a longer recording (BIOMETRICS jobs)."""
    speech_jobs: SpeechJobs
    """Transcriptions and denoises too long for a synchronous request, as jobs."""
    transcription: TranscriptionService
    denoise: DenoiseService
    realtime: RealtimeService
    """Realtime voice sessions (WS /v1/realtime): sessions per key, who answers."""
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
    history: HistoryService
    """Generation history: every synthesis that produced audio (the recorder's listener)."""
    history_sweeper: HistorySweeper
    """History retention, enforced periodically while jobs run here."""
    stories: StoryService
    """Multi-voice, multi-track stories: editing, scripts."""
    story_renderer: StoryRenderer
    """Story renders, as jobs."""
    studio_sessions: StudioSessions
    """Web studio sign-ins: API keys exchanged for session cookies."""
    consent: ConsentService
    """Spoken consent before a cloned voice speaks (when the deployment asks for it)."""
    story_archives: StoryArchives
    """Stories as project archives (export, import)."""
    editing: EditingService
    """Audio edits (POST /v1/audio/edit): results kept as history items."""
    pronunciation: PronunciationService
    """Per-key pronunciation dictionaries, applied to the text of syntheses that name them."""
    version: str = __version__
    started_at: float = 0.0
    started_unix: int = 0
    invalidations: Invalidations | None = None
    """Distributed mode: the in-memory state's changes shared on Redis (state_cache.py)."""
    """When ``start`` ran, in Unix seconds (``created`` of the models in GET /v1/models)."""
    sweeper: JobSweeper | None = None
    """Distributed mode only: re-enqueues from the database the jobs the queue lost."""
    billing: BillingService | None = None
    """Signup and Stripe billing; None unless ``billing.stripe_secret_key`` is set."""
    provenance: ProvenanceService | None = None
    """Signed manifests and verification of generated audio; None when provenance is off."""
    watermark: WatermarkService | None = None
    engine_unloader: EngineUnloader | None = None
    """Unloads local engines nothing has used for ``engines.idle_unload_s``."""
    """Detection of the audio watermark; None when the watermark is off."""

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
        if self.settings.redis_url and self.invalidations is None:
            self.invalidations = Invalidations(self.settings.redis_url)
            self.invalidations.start()
        if self.engine_unloader is not None:
            self.engine_unloader.start()
        if not run_jobs:
            return
        self.history_sweeper.start()
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
        await self.realtime.close()
        if self.engine_unloader is not None:
            await self.engine_unloader.stop()
        if self.invalidations is not None:
            await self.invalidations.stop()
            self.invalidations = None
        if self.billing is not None:
            await self.billing.close()
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.history_sweeper.stop()
        await self.callbacks.stop()
        await self.queue.stop()
        await self.webhooks.close()  # after the jobs: the last ones' first attempts finish
        await self.synthesis.close()
        await self.admission.heavy.close()
        await self.history.close()
        await self.usage.close()
        self.engines.close()
        await self.db.dispose()


def _provenance(
    settings: Settings, history: HistoryService, registry: EngineRegistry
) -> ProvenanceService | None:
    """Provenance on: items keep their audio's hash and manifests are signed (off: None)."""
    if not settings.provenance.enabled:
        return None
    configured = settings.provenance.signing_key
    key, _ = ensure_signing_key(
        settings.data_dir, configured.get_secret_value() if configured else None
    )
    history.hash_audio = True
    return ProvenanceService(history=history, engines=registry, signer=ManifestSigner(key))


def _marker(settings: Settings) -> Marker | None:
    """The watermark step, when on: its deployment id is the configured one, else the first
    16 bits of the provenance key's id (0 when provenance is off too)."""
    if not settings.watermark.enabled:
        return None
    deployment = settings.watermark.deployment
    if deployment is None and settings.provenance.enabled:
        configured = settings.provenance.signing_key
        key, _ = ensure_signing_key(
            settings.data_dir, configured.get_secret_value() if configured else None
        )
        deployment = int(ManifestSigner(key).key_id[:4], 16)
    return Marker(settings=settings.watermark, deployment=deployment or 0)


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
    # One process runs every job only in the embedded mode with one API process; with
    # `serve --workers N` the processes share jobs as distributed hosts do (leases, a sweep).
    sole_worker = settings.queue == "inprocess" and settings.workers == 1
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
        cache_s=settings.auth_cache_s,
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
        heavy=HeavySlots(
            limit=settings.limits.max_concurrent_heavy_per_key,
            counter=open_slot_counter(settings.quotas, settings.redis_url),
        ),
    )
    recorder = Recorder(usage=usage)
    marker = _marker(settings)
    synthesis = SynthesisService(
        sessions=sessions,
        blobs=blobs,
        queue=queue,
        planner=Planner(
            voices=voices,
            engines=registry,
            router=router,
            limits=settings.limits,
            consent=settings.consent,
            # Other processes may change voices: read the voice again before a miss renders.
            confirm_voices=settings.workers > 1 or bool(settings.redis_url),
        ),
        admission=admission,
        cache=SynthesisCache(
            sessions=sessions,
            blobs=blobs,
            metrics=metrics,
            enabled=settings.cache_enabled,
            memory_s=settings.auth_cache_s,
        ),
        router=router,
        renderer=Renderer(
            voices=voices,
            metrics=metrics,
            max_output_s=settings.limits.max_output_audio_s,
            marker=marker,
        ),
        recorder=recorder,
        callbacks=callbacks,
    )
    history = HistoryService(
        sessions=sessions, blobs=blobs, settings=settings.history, synthesis=synthesis
    )
    history_recorder = HistoryRecorder(sessions=sessions, history=history)
    recorder.subscribe(history_recorder.synthesis_served)
    job_events.subscribe(history_recorder.job_finished)
    voices.on_delete(history.voice_deleted)
    biometrics = BiometricsService(
        sessions=sessions,
        blobs=blobs,
        engines=registry,
        settings=settings.biometrics,
        usage=usage,
    )
    speaker_jobs = SpeakerJobs(
        biometrics=biometrics, sessions=sessions, blobs=blobs, queue=queue, limits=settings.limits
    )
    keys = KeyService(sessions=sessions, admin_key=admin_key, cache_s=settings.auth_cache_s)
    stories = StoryService(
        sessions=sessions,
        blobs=blobs,
        voices=voices,
        settings=settings.stories,
        limits=settings.limits,
        history=history,
    )
    story_renderer = StoryRenderer(
        sessions=sessions,
        blobs=blobs,
        queue=queue,
        stories=stories,
        synthesis=synthesis,
        admission=admission,
        keys=keys,
        settings=settings.stories,
    )
    denoise = DenoiseService(engines=registry, limits=settings.limits, settings=settings.deepfilter)
    speech_jobs = SpeechJobs(
        sessions=sessions,
        blobs=blobs,
        queue=queue,
        limits=settings.limits,
        transcription=transcription,
        denoise=denoise,
        biometrics=biometrics,
        recorder=recorder,
        metrics=metrics,
    )
    job_events.subscribe(speech_jobs.job_finished)
    runner = JobRunner(
        sessions=sessions,
        synthesis=synthesis,
        voices=voices,
        speaker_jobs=speaker_jobs,
        max_attempts=settings.jobs.max_attempts,
        lease_s=settings.jobs.lease_s,
        heartbeat_s=settings.jobs.heartbeat_s,
        sole_worker=sole_worker,
        queue=queue,
        metrics=metrics,
        job_events=job_events,
        story_renderer=story_renderer,
        speech_jobs=speech_jobs,
    )
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
    jobs = JobService(sessions=sessions, blobs=blobs, job_events=job_events)
    realtime = RealtimeService(
        synthesis=synthesis,
        transcription=transcription,
        denoise=denoise,
        recorder=recorder,
        settings=settings.realtime,
        agent=settings.agent,
        limits=settings.limits,
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
        voice_samples=VoiceSampleService(
            sessions=sessions,
            blobs=blobs,
            engines=registry,
            limits=settings.limits,
            queue=queue,
            voices=voices,
            transcription=transcription if settings.auto_transcribe_references else None,
        ),
        voice_archives=VoiceArchiveService(
            sessions=sessions,
            blobs=blobs,
            engines=registry,
            limits=settings.limits,
            queue=queue,
            voices=voices,
        ),
        voice_search=VoiceSearch(sessions=sessions),
        synthesis=synthesis,
        runner=runner,
        jobs=jobs,
        editing=EditingService(history=history, jobs=jobs, limits=settings.limits),
        oneshot=OneShotService(
            engines=registry,
            synthesis=synthesis,
            limits=settings.limits,
            default_backend=settings.default_backend,
        ),
        biometrics=biometrics,
        speaker_jobs=speaker_jobs,
        speech_jobs=speech_jobs,
        transcription=transcription,
        denoise=denoise,
        realtime=realtime,
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
        history=history,
        history_sweeper=HistorySweeper(
            sessions=sessions, history=history, settings=settings.history
        ),
        stories=stories,
        story_renderer=story_renderer,
        consent=ConsentService(
            sessions=sessions,
            voices=voices,
            transcription=transcription,
            biometrics=biometrics,
            settings=settings.consent,
        ),
        studio_sessions=StudioSessions(sessions, keys, max_age_s=settings.studio.session_max_age_s),
        story_archives=StoryArchives(
            sessions=sessions,
            blobs=blobs,
            stories=stories,
            voices=voices,
            settings=settings.stories,
        ),
        sweeper=sweeper,
        billing=billing,
        pronunciation=PronunciationService(sessions=sessions),
        provenance=_provenance(settings, history, registry),
        watermark=WatermarkService(marker=marker, history=history) if marker else None,
        engine_unloader=EngineUnloader(engines=registry, settings=settings.engines),
    )
