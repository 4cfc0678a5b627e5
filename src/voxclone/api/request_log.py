"""One log line per HTTP request, and the request's id in ``X-Request-Id``.

The line (logger ``voxclone.access``, level INFO) carries the method, the route template (never
the raw path: ids stay out of it), the status, the duration, the key's id and the request id; in
JSON logs (``VOXCLONE_LOG_FORMAT=json``) each is its own field. A client's own ``X-Request-Id`` is
kept when it is a sane token (so a request can be followed through a proxy and into the logs),
else one is made. WebSockets get an id too, logged when the connection ends.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxclone.api.metrics import route_label

log = logging.getLogger("voxclone.access")
REQUEST_ID = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-Id`` when it is a sane token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1").strip()
            if _SANE_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestLog:
    """Pure ASGI middleware (it never buffers a body, so streams stay streams)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500 if scope["type"] == "http" else 101

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = request_id
            elif message["type"] == "websocket.close":
                status = int(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            principal = scope.get("state", {}).get("principal")
            key_id = getattr(principal, "key_id", None) or (
                "admin" if getattr(principal, "is_admin", False) else None
            )
            route = route_label(scope)
            method = scope.get("method", "WS")
            log.info(
                "%s %s %s %.1fms key=%s id=%s",
                method,
                route,
                status,
                duration_ms,
                key_id or "-",
                request_id,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_ms, 2),
                    "key_id": key_id,
                    "request_id": request_id,
                },
            )
