"""What each engine is and whether it works now: for /health and the admin's engine list.

Health checks never load a local model that nothing has used yet (it can take seconds and
gigabytes); they do look at the default backend, engines already loaded or that failed to load,
and every remote engine (loading one costs nothing; its URLs are probed at most every
``health_interval_s``). Checks run in threads, side by side, since probes are network calls.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from voxclone.core.errors import EngineUnavailable
from voxclone.engines.base import EndpointStatus, EngineHealth, RemoteEngine
from voxclone.engines.registry import EngineRegistry


@dataclass(frozen=True, slots=True)
class EngineReport:
    name: str
    kind: str
    remote: bool
    fallback: str | None
    loaded: bool
    available: bool
    detail: str
    checked: bool = True
    """False for a local engine nothing has used yet: it is not loaded just to be checked."""
    version: str | None = None
    urls: list[EndpointStatus] = field(default_factory=list)


async def engine_reports(
    registry: EngineRegistry, *, default_backend: str, probe: bool = False
) -> list[EngineReport]:
    """One report per registered engine. ``probe`` probes every URL of remote engines now."""

    async def report(name: str) -> EngineReport:
        spec = registry.spec(name)
        checked = (
            spec.remote
            or registry.is_loaded(name)
            or name == default_backend
            or registry.failure(name) is not None
        )
        if not checked:
            return EngineReport(
                name=name,
                kind=spec.kind,
                remote=False,
                fallback=spec.fallback,
                loaded=False,
                available=True,
                detail="not loaded yet",
                checked=False,
            )
        state = await asyncio.to_thread(_check, registry, name, probe)
        engine = registry.loaded(name)  # not a use: a report never keeps an idle engine loaded
        return EngineReport(
            name=name,
            kind=spec.kind,
            remote=spec.remote,
            fallback=spec.fallback,
            loaded=engine is not None,
            available=state.available,
            detail=state.detail,
            version=getattr(engine, "version", None),
            urls=engine.endpoints() if isinstance(engine, RemoteEngine) else [],
        )

    return list(await asyncio.gather(*(report(name) for name in registry.names())))


def _check(registry: EngineRegistry, name: str, probe: bool) -> EngineHealth:
    if not probe:
        return registry.health(name)
    try:
        engine = registry.get(name)
    except EngineUnavailable as exc:
        return EngineHealth(available=False, detail=exc.message)
    if isinstance(engine, RemoteEngine):
        return engine.health(force=True)
    return EngineHealth(available=True)


def overall_status(reports: list[EngineReport]) -> str:
    """Over the engines checked (the default, those in use, remote ones): healthy when all
    work, degraded when some do not, unhealthy when no TTS engine works, so nothing can be
    synthesized. An engine nothing has used yet proves nothing either way."""
    checked = [r for r in reports if r.checked]
    if not any(r.available for r in checked if r.kind == "tts"):
        return "unhealthy"
    if all(r.available for r in checked):
        return "healthy"
    return "degraded"
