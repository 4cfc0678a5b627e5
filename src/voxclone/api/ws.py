"""What every WebSocket endpoint does the same way: the key, receiving with an idle limit, JSON
control messages, and errors sent as ``{"type": "error", "error", "message", "details"}``
followed by a close code that says what went wrong.

Browsers cannot set headers on a WebSocket, so the key may also come as ``?api_key=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voxclone.api.deps import STUDIO_COOKIE, authenticate, count_request, presented_key
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    AuthenticationError,
    Conflict,
    CsrfRejected,
    EngineError,
    InvalidInput,
    InvalidText,
    KeyRateLimited,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    TooManyJobs,
    Unprocessable,
    VoxcloneError,
)
from voxclone.services.container import Services
from voxclone.services.keys import Principal

# WebSocket close codes (RFC 6455 section 7.4.1; 4000-4999 are the application's)
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_QUOTA = 4402
CLOSE_RATE_LIMITED = 4429
CLOSE_NOT_FOUND = 4404
CLOSE_CONFLICT = 4409
MAX_REASON_BYTES = 123
"""RFC 6455: a close frame's reason is at most 123 bytes of UTF-8."""


def check_same_origin(websocket: WebSocket) -> None:
    """A WebSocket signed in by the studio's cookie must be opened by a page of this server
    (browsers send cookies on cross-site WebSockets to SameSite=Strict only from this site, but
    the Origin check does not depend on that)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin or not host or origin.split("://", 1)[-1] != host:
        raise CsrfRejected("a studio WebSocket must be opened from the studio's own origin")


async def authenticate_user(websocket: WebSocket, services: Services) -> Principal:
    """The user key from a header or ``?api_key=``; the admin key is refused."""
    key = presented_key(websocket) or websocket.query_params.get("api_key") or None
    if key is None and websocket.cookies.get(STUDIO_COOKIE):
        check_same_origin(websocket)
        principal = await authenticate(websocket, services, method="GET")
    else:
        principal = await services.keys.authenticate(key)
    if principal.key_id is None:
        raise PermissionDenied("the admin key manages keys only; use a user key")
    await count_request(websocket, services, principal)
    return principal


@contextlib.asynccontextmanager
async def closing_on_error(websocket: WebSocket) -> AsyncIterator[None]:
    """Ends the block quietly when the client has gone; a VoxcloneError is sent and closes."""
    try:
        yield
    except WebSocketDisconnect:
        return
    except VoxcloneError as exc:
        await fail(websocket, exc)


async def receive(
    websocket: WebSocket, idle_s: float, *, busy: Callable[[], bool] | None = None
) -> dict[str, Any] | None:
    """The next message, None when the client has gone. A client silent for ``idle_s`` is
    refused, unless ``busy()`` says the server still has work for it (then it waits again)."""
    while True:
        try:
            # asyncio.timeout rather than wait_for: on Python 3.11 wait_for can swallow an
            # outer cancellation (a session deadline) when the message arrives at that moment.
            async with asyncio.timeout(idle_s):
                message = dict(await websocket.receive())
        except TimeoutError:
            if busy is not None and busy():
                continue
            raise InvalidInput(
                f"no message for {idle_s:g} s; closing the stream", idle_timeout_s=idle_s
            ) from None
        if message["type"] == "websocket.disconnect":
            return None
        return message


def json_text(message: dict[str, Any], *, binary: str) -> dict[str, Any]:
    """A text message's JSON object; ``binary`` is what to tell a client that sent bytes."""
    if message.get("text") is None:
        raise InvalidInput(binary)
    return parse_json(message["text"])


def parse_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        raise InvalidInput("a text message must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidInput("a text message must be a JSON object")
    return value


async def fail(websocket: WebSocket, exc: VoxcloneError) -> None:
    """Tell the client what went wrong, in the one error shape, and close."""
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_json(
            {"type": "error", "error": exc.code, "message": exc.message, "details": exc.details}
        )
        await websocket.close(close_code(exc), reason=close_reason(exc))


def close_reason(exc: VoxcloneError) -> str:
    """The error's code; for a key's quota or rate limit, the error as compact JSON (its code
    and numbers), as much of it as a close frame holds."""
    if not isinstance(exc, QuotaExceeded | KeyRateLimited | TooManyJobs):
        return exc.code
    body: dict[str, Any] = {"error": exc.code}
    for name, value in exc.details.items():
        candidate = json.dumps({**body, name: value}, separators=(",", ":"))
        if len(candidate.encode()) <= MAX_REASON_BYTES:
            body[name] = value
    return json.dumps(body, separators=(",", ":"))


def close_code(exc: VoxcloneError) -> int:
    if isinstance(exc, AuthenticationError | PermissionDenied):
        return CLOSE_POLICY
    if isinstance(exc, QuotaExceeded):
        return CLOSE_QUOTA
    if isinstance(exc, KeyRateLimited | TooManyJobs):
        return CLOSE_RATE_LIMITED
    if isinstance(exc, PayloadTooLarge | InvalidText):
        return CLOSE_TOO_BIG  # a message, or text waiting for synthesis, over its limit
    if isinstance(exc, RateLimited):
        return CLOSE_TRY_AGAIN
    if isinstance(exc, EngineError):
        return CLOSE_INTERNAL
    if isinstance(exc, NotFound):
        return CLOSE_NOT_FOUND  # no such voice, or another key's
    if isinstance(exc, Conflict):
        return CLOSE_CONFLICT  # a voice still being fitted, or whose fitting failed
    if isinstance(exc, AudioDurationOutOfRange):
        return CLOSE_POLICY  # the stream ran past limits.max_speech_audio_s
    if isinstance(exc, InvalidInput | Unprocessable):
        return CLOSE_UNSUPPORTED_DATA  # garbage, NaN, a wrong rate, a silent client
    return CLOSE_POLICY
