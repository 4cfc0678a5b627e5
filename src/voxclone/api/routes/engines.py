"""GET /v1/engines (admin): every engine, its URLs, their health and recent latency (the
engine's own percentiles over this process's last calls, and each remote URL's)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from voxclone.api.deps import AdminKey, ServicesDep
from voxclone.api.schemas import EndpointPublic, EngineList, EnginePublic
from voxclone.services.engines import engine_reports, overall_status

router = APIRouter(tags=["engines"])


@router.get("/v1/engines", response_model=EngineList)
async def list_engines(
    services: ServicesDep,
    _admin: AdminKey,
    probe: bool = Query(False, description="Probe every URL of remote engines now."),
) -> EngineList:
    default = services.settings.default_backend
    reports = await engine_reports(services.engines, default_backend=default, probe=probe)
    latency = {r.name: services.metrics.latency.stats(r.name) for r in reports}
    return EngineList(
        status=overall_status(reports),
        default_backend=default,
        engines=[
            EnginePublic(
                name=r.name,
                kind=r.kind,
                remote=r.remote,
                fallback=r.fallback,
                loaded=r.loaded,
                available=r.available,
                detail=r.detail,
                version=r.version,
                latency_p50_ms=stats.p50_ms if (stats := latency[r.name]) else None,
                latency_p95_ms=stats.p95_ms if stats else None,
                latency_p99_ms=stats.p99_ms if stats else None,
                latency_samples=stats.samples if stats else 0,
                urls=[
                    EndpointPublic(
                        url=u.url,
                        weight=u.weight,
                        state=u.state,
                        outstanding=u.outstanding,
                        requests=u.requests,
                        failures=u.failures,
                        consecutive_failures=u.consecutive_failures,
                        latency_p50_ms=u.p50_ms,
                        latency_p95_ms=u.p95_ms,
                        latency_samples=u.samples,
                        last_error=u.last_error,
                        retry_in_s=u.retry_in_s,
                    )
                    for u in r.urls
                ],
            )
            for r in reports
        ],
    )
