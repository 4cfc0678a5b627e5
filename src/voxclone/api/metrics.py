"""Counts every HTTP request in the app's ``Metrics``: method, route template, status, time.

The route is the template the router matched (``/v1/voices/{voice_id}``), never the raw path,
so ids do not make a time series each; a request no route matched is ``<unmatched>``.
WebSocket connections are not counted, and neither are scrapes of ``/metrics`` itself.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxclone.services.metrics import Metrics

UNMATCHED = "<unmatched>"
METRICS_PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted by name; any other (clients may send any token) is ``OTHER``."""


def route_label(scope: Scope) -> str:
    """The template of the route that handled ``scope``, or ``UNMATCHED``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return UNMATCHED
    # A route of a mounted app (the ElevenLabs API at /elevenlabs) under its mount's path.
    root = str(scope.get("root_path", ""))
    app_root = str(scope.get("app_root_path", root))
    return (root[len(app_root) :] if root.startswith(app_root) else "") + template


class HTTPMetrics:
    """Pure ASGI middleware; the ``Metrics`` are those of the app's services
    (``app.state.services``, built at start-up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error nothing answered becomes a 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            metrics = _metrics_of(scope)
            if metrics is not None:
                metrics.note_request(
                    method=scope["method"] if scope["method"] in METHODS else "OTHER",
                    route=route_label(scope),
                    status=status,
                    duration_s=time.perf_counter() - started,
                )


def _metrics_of(scope: Scope) -> Metrics | None:
    state = getattr(scope.get("app"), "state", None)
    metrics: Metrics | None = getattr(getattr(state, "services", None), "metrics", None)
    return metrics
