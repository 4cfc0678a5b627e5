"""A cap on every request body, enforced as it streams in (413 in the one error shape)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxclone.core.errors import PayloadTooLarge


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # A VoxcloneError, so the app's own handler answers 413 when it can.
                    raise PayloadTooLarge(
                        f"request body is larger than the limit of {self.max_bytes} bytes",
                        max_bytes=self.max_bytes,
                        received_bytes=seen,
                    )
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge as exc:
            if not started:
                await self._refuse(send, int(exc.details.get("received_bytes", 0)))

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "error": "payload_too_large",
                "message": f"request body is larger than the limit of {self.max_bytes} bytes",
                "details": {"max_bytes": self.max_bytes, "received_bytes": size},
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateLimitHeaders:
    """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` on every response to a key with a
    rate limit (429s included): the admit step leaves the key's window on the request state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {}).get("ratelimit")
                if state is not None:
                    headers = list(message.get("headers", []))
                    headers += [
                        (k.lower().encode(), v.encode()) for k, v in state.headers().items()
                    ]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
