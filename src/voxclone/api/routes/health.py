from __future__ import annotations

from fastapi import APIRouter

from voxclone.api.deps import ServicesDep
from voxclone.api.schemas import EngineStatus, Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
@router.get("/v1/health", response_model=Health)
async def health(services: ServicesDep) -> Health:
    """healthy: every engine works; degraded: some do not; unhealthy: no TTS engine works."""
    registry = services.engines
    engines = []
    for name in registry.names():
        spec = registry.spec(name)
        loaded = registry.is_loaded(name)
        # Only engines already loaded, or the default one, are checked: a health probe must
        # not load every model. The others are reported as not loaded yet.
        if loaded or name == services.settings.default_backend or registry.failure(name):
            state = registry.health(name)
            engines.append(
                EngineStatus(
                    name=name,
                    kind=spec.kind,
                    loaded=registry.is_loaded(name),
                    available=state.available,
                    detail=state.detail,
                )
            )
        else:
            engines.append(
                EngineStatus(
                    name=name, kind=spec.kind, loaded=False, available=True, detail="not loaded yet"
                )
            )
    tts = [e for e in engines if e.kind == "tts"]
    if not any(e.available for e in tts):
        status = "unhealthy"
    elif all(e.available for e in engines):
        status = "healthy"
    else:
        status = "degraded"
    return Health(
        status=status,
        version=services.version,
        uptime_seconds=round(services.uptime_s, 3),
        backends=registry.names("tts"),
        engines=engines,
    )
