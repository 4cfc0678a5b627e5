"""``WS /v1/realtime``: a spoken conversation in OpenAI's Realtime event protocol, answered in
a voxclone voice (docs/realtime.md).

Query: ``model`` (``echo`` repeats what it heard; any other name is answered by the operator's
language model, ``VOXCLONE_AGENT__LLM_URL``); the key in a header, as ``?api_key=``, or as the
``openai-insecure-api-key.<key>`` subprotocol browsers use. Every message is a JSON event;
errors in an event are answered with an ``error`` event and the session goes on. The session
closes, after an ``error`` event, on: binary or non-JSON frames and garbage audio (1003), a
wrong audio format (1003), an event over ``realtime.max_event_bytes`` or an input buffer over
``realtime.max_input_buffer_s`` (1009), the key's sessions (1013) or rate limit (4429) when
it connects, ``realtime.max_session_s`` (1008) and ``realtime.idle_timeout_s`` (1003).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voxclone.api.deps import count_request
from voxclone.api.ws import authenticate_user, close_code, close_reason, parse_json, receive
from voxclone.core.errors import (
    InvalidInput,
    PayloadTooLarge,
    PermissionDenied,
    SessionExpired,
    VoxcloneError,
)
from voxclone.services.container import Services
from voxclone.services.keys import Principal
from voxclone.services.realtime import RealtimeSession
from voxclone.services.realtime.dialect import GA, dialect_of, event_in, event_out
from voxclone.services.realtime.items import new_id

router = APIRouter(tags=["real-time"])

SUBPROTOCOL = "realtime"
KEY_SUBPROTOCOL = "openai-insecure-api-key."


@router.websocket("/v1/realtime")
async def realtime(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    settings = services.realtime.settings
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    lock = asyncio.Lock()
    ga = dialect_of(websocket.headers, offered) == GA

    async def send(event: dict[str, Any]) -> None:
        """Send an event; once the client has gone, nothing (the receive loop notices)."""
        async with lock:
            for out in event_out(event) if ga else [event]:
                if websocket.client_state != WebSocketState.CONNECTED:
                    return
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await websocket.send_json(out)

    try:
        user = await _authenticate(websocket, services, offered)
        async with services.realtime.session(
            caller=user, model=websocket.query_params.get("model"), send=send
        ) as session:
            deadline = time.monotonic() + settings.max_session_s
            try:
                async with asyncio.timeout_at(
                    asyncio.get_running_loop().time() + settings.max_session_s
                ):
                    await _serve(websocket, session, services, deadline, ga=ga)
            except TimeoutError:
                if time.monotonic() < deadline - 1:
                    raise
                raise SessionExpired(
                    f"the session reached its limit of {settings.max_session_s:g} s",
                    max_session_s=settings.max_session_s,
                ) from None
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(1000)
    except WebSocketDisconnect:
        return
    except VoxcloneError as exc:
        await _fail(websocket, exc, lock)


async def _authenticate(websocket: WebSocket, services: Services, offered: list[str]) -> Principal:
    for protocol in offered:
        if protocol.startswith(KEY_SUBPROTOCOL):
            principal = await services.keys.authenticate(protocol[len(KEY_SUBPROTOCOL) :])
            if principal.key_id is None:
                raise PermissionDenied("the admin key manages keys only; use a user key")
            await count_request(websocket, services, principal)
            return principal
    return await authenticate_user(websocket, services)


async def _serve(
    websocket: WebSocket,
    session: RealtimeSession,
    services: Services,
    deadline: float,
    *,
    ga: bool,
) -> None:
    settings = services.realtime.settings
    while True:
        if time.monotonic() >= deadline:
            # The timeout's cancellation normally ends the session; this catches the one a
            # busy handler absorbed, so a chatty client cannot outlive its limit.
            raise TimeoutError
        message = await receive(websocket, settings.idle_timeout_s, busy=lambda: session.responding)
        if message is None:
            return
        text = message.get("text")
        if text is None:
            raise InvalidInput("events are JSON text messages; binary frames are not accepted")
        if len(text) > settings.max_event_bytes:
            raise PayloadTooLarge(
                f"an event of {len(text)} bytes; at most {settings.max_event_bytes} are allowed",
                size=len(text),
                max_bytes=settings.max_event_bytes,
            )
        event = parse_json(text)
        if ga:
            try:
                event = event_in(event)
            except InvalidInput as exc:  # answered like any bad event: the session goes on
                event_id = event.get("event_id")
                await session.send_error(
                    exc, event_id=event_id if isinstance(event_id, str) else None
                )
                continue
        await session.handle(event)


async def _fail(websocket: WebSocket, exc: VoxcloneError, lock: asyncio.Lock) -> None:
    """The error as OpenAI's ``error`` event, then the close code that says what went wrong."""
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    details = dict(exc.details)
    event = {
        "type": "error",
        "event_id": new_id("event"),
        "error": {
            "type": "invalid_request_error",
            "code": exc.code,
            "message": exc.message,
            "param": details.pop("param", None),
            "event_id": None,
            "details": details,
        },
    }
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        async with lock:
            await websocket.send_json(event)
            await websocket.close(close_code(exc), reason=close_reason(exc))
