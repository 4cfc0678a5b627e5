"""GET /metrics: this process's Prometheus metrics, in the text exposition format."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voxclone.api.deps import ServicesDep
from voxclone.core.errors import AuthenticationError

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics of this API host. With ``VOXCLONE_METRICS__TOKEN`` set, only for
    ``Authorization: Bearer <token>``; with ``VOXCLONE_METRICS__ENABLED=false``, 404."""
    token = services.settings.metrics.token
    expected = token.get_secret_value().encode() if token is not None else b""
    if expected:  # an empty token is no token
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise AuthenticationError("GET /metrics needs Authorization: Bearer <metrics token>")
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
