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

``POST /v1/realtime/calls``: the same session over WebRTC, as OpenAI's WebRTC flow. The body is
the browser's SDP offer (``application/sdp``), or multipart with ``sdp`` and ``session`` (a GA
session object as JSON); the answer is ``201`` with the SDP answer and ``Location:
/v1/realtime/calls/{call_id}``; ``POST /v1/realtime/calls/{call_id}/hangup`` ends it. Events
travel on the data channel the client opens, audio on the tracks (services/realtime/webrtc.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voxclone.api.deps import ServicesDep, UserKey, count_request
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.api.ws import authenticate_user, close_code, close_reason, parse_json, receive
from voxclone.core.errors import (
    InvalidInput,
    MissingField,
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


_SDP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/sdp": {"schema": {"type": "string", "description": "the SDP offer"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["sdp"],
                    "properties": {
                        "sdp": {"type": "string", "description": "the SDP offer"},
                        "session": {
                            "type": "string",
                            "description": "a session object (GA names) as JSON",
                        },
                    },
                }
            },
        },
    }
}


@router.post(
    "/v1/realtime/calls",
    status_code=201,
    openapi_extra=_SDP_BODY,
    responses={
        201: {
            "description": "the SDP answer; Location names the call",
            "content": {"application/sdp": {"schema": {"type": "string"}}},
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    },
)
async def create_call(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """A realtime session over WebRTC: SDP offer in, SDP answer out (query: ``model``)."""
    offer, session = await _offer(request, services)
    call, answer = await services.realtime.call(
        caller=user, model=request.query_params.get("model"), offer_sdp=offer, session=session
    )
    return Response(
        answer,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{call.id}"},
    )


@router.post("/v1/realtime/calls/{call_id}/hangup")
async def hang_up(call_id: str, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    """End a WebRTC call (the session's usage is metered as it closes)."""
    services.realtime.hang_up(call_id, caller=user)
    return {}


async def _offer(request: Request, services: ServicesDep) -> tuple[str, dict[str, Any] | None]:
    """The SDP offer and the optional session object, from either body OpenAI accepts."""
    limit = services.realtime.settings.max_sdp_bytes
    content_type = request.headers.get("content-type", "")
    session: dict[str, Any] | None = None
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await read_form(
            request, max_file_bytes=limit, too_large=PayloadTooLarge, field="sdp"
        )
        try:
            offer = text_field(form, "sdp")
            if offer is None and (upload := await read_upload(form, "sdp")) is not None:
                offer = upload.decode("utf-8", errors="replace")
            raw_session = text_field(form, "session")
        finally:
            await form.close()
        if offer is None:
            raise MissingField("sdp is required (the SDP offer)", field="sdp")
        if raw_session:
            session = _session_object(raw_session)
    elif content_type.startswith(("application/sdp", "text/plain")) or not content_type:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise PayloadTooLarge(
                    f"the SDP offer is larger than {limit} bytes", field="sdp", max_bytes=limit
                )
        offer = body.decode("utf-8", errors="replace")
    else:
        raise InvalidInput(
            f"the body is an SDP offer (application/sdp) or multipart with sdp and session, "
            f"not {content_type}",
            field="sdp",
        )
    if not offer.lstrip().startswith("v=0"):
        raise InvalidInput("sdp is not an SDP offer (it must begin with v=0)", field="sdp")
    return offer, session


def _session_object(text: str) -> dict[str, Any]:
    """The multipart ``session`` field: a session object, bare or as ``{"session": {...}}``."""
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput("session must be JSON", field="session") from None
    if isinstance(value, dict) and isinstance(value.get("session"), dict):
        value = value["session"]
    if not isinstance(value, dict):
        raise InvalidInput("session must be a JSON object", field="session")
    return value
