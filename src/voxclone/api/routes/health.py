from __future__ import annotations

from fastapi import APIRouter

from voxclone.api.deps import ServicesDep
from voxclone.api.schemas import EngineStatus, Health
from voxclone.services.engines import engine_reports, overall_status

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
@router.get("/v1/health", response_model=Health)
async def health(services: ServicesDep) -> Health:
    """healthy: every engine works; degraded: some do not (a remote engine with no URL up, a
    model that cannot load); unhealthy: no TTS engine works, so nothing can be synthesized."""
    reports = await engine_reports(
        services.engines, default_backend=services.settings.default_backend
    )
    return Health(
        status=overall_status(reports),
        version=services.version,
        uptime_seconds=round(services.uptime_s, 3),
        backends=services.engines.names("tts"),
        engines=[
            EngineStatus(
                name=r.name, kind=r.kind, loaded=r.loaded, available=r.available, detail=r.detail
            )
            for r in reports
        ],
    )
