"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from voxclone import __version__
from voxclone.api.elevenlabs.app import mount_elevenlabs
from voxclone.api.errors import install_error_handlers
from voxclone.api.limits import BodySizeLimit, RateLimitHeaders
from voxclone.api.metrics import HTTPMetrics
from voxclone.api.openapi import install_openapi
from voxclone.api.request_log import RequestLog
from voxclone.api.routes import backends as backend_routes
from voxclone.api.routes import billing as billing_routes
from voxclone.api.routes import (
    callbacks,
    denoise,
    engines,
    health,
    jobs,
    keys,
    openai_speech,
    openai_voices,
    realtime,
    sovits,
    speakers,
    synthesis,
    timestamps,
    transcription,
    tts_ws,
    usage,
    voice_archives,
    voice_samples,
    voices,
    webhooks,
)
from voxclone.api.routes import consent as consent_routes
from voxclone.api.routes import editing as editing_routes
from voxclone.api.routes import history as history_routes
from voxclone.api.routes import metrics as metrics_route
from voxclone.api.routes import pronunciation as pronunciation_routes
from voxclone.api.routes import provenance as provenance_routes
from voxclone.api.routes import stories as story_routes
from voxclone.api.routes import studio as studio_routes
from voxclone.api.routes import voice_checks as voice_check_routes
from voxclone.api.routes import watermark as watermark_routes
from voxclone.config import Settings
from voxclone.services.container import Services, build_services
from voxclone.web import STATIC_DIR

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The app. Services are built from ``settings`` at start-up unless given ready-made."""
    settings = settings or (services.settings if services else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build_services(settings)
        if svc.admin_key_generated:
            log.warning(
                "generated an admin key (shown once; also in %s): %s",
                settings.data_dir / "admin_key",
                svc.admin_key,
            )
        await svc.start()
        app.state.services = svc
        try:
            yield
        finally:
            await svc.close()

    app = FastAPI(
        title="voxclone",
        version=__version__,
        description="Self-hosted voice cloning: clone a voice once, synthesize it from anywhere.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Cache",
                "X-Voice-Id",
                "X-Backend",
                "X-Synthesis-Time-Ms",
                "X-Audio-Duration",
                "X-History-Id",
                "X-Provenance-Manifest",
                "X-Job-Id",
                "X-Processing-Time-Ms",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
                "X-Request-Id",
            ],
        )
    for module in (health, keys, voices, synthesis, jobs, sovits, engines):
        app.include_router(module.router)
    for module in (transcription, openai_speech, openai_voices, denoise, speakers, tts_ws):
        app.include_router(module.router)
    app.include_router(realtime.router)
    app.include_router(timestamps.router)
    app.include_router(speakers.jobs_router)
    app.include_router(voice_samples.router)
    app.include_router(consent_routes.router)
    app.include_router(voice_archives.router)
    app.include_router(voice_check_routes.router)
    app.include_router(backend_routes.router)
    app.include_router(webhooks.router)
    app.include_router(history_routes.router)
    app.include_router(editing_routes.router)
    app.include_router(story_routes.router)
    app.include_router(usage.router)
    app.include_router(callbacks.router)
    app.include_router(pronunciation_routes.router)
    mount_elevenlabs(app)  # /elevenlabs: ElevenLabs' API shapes and errors
    if settings.studio.enabled:
        app.include_router(studio_routes.router)
        # Compressed here only: the API's audio streams must not wait on a compressor.
        app.mount("/studio", GZipMiddleware(StaticFiles(directory=STATIC_DIR)), name="studio")
    if settings.billing.enabled:
        app.include_router(billing_routes.router)
    if settings.provenance.enabled:
        app.include_router(provenance_routes.router)
    if settings.watermark.enabled:
        app.include_router(watermark_routes.router)
    if settings.metrics.enabled:
        app.add_middleware(HTTPMetrics)  # it sees the 413s and CORS too
        app.include_router(metrics_route.router)
    app.add_middleware(RequestLog)  # outermost: every answer gets its X-Request-Id
    return app
