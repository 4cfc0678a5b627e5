"""Noise suppression over HTTP (``POST /v1/audio/denoise``) and WebSocket (``/ws``).

The WebSocket protocol: the client sends ``{"type": "start", "sample_rate": 48000}``, then binary
messages of Float32 little-endian mono PCM; each binary message is answered with the denoised
samples ready so far (possibly none, as binary). ``{"type": "stop"}`` flushes the tail (one last
binary message) and ends with ``{"type": "done", ...}`` and close code 1000. Anything wrong gets
``{"type": "error", "error": code, "message": ..., "details": ...}`` and a close code.
Browsers cannot set headers on a WebSocket, so the key may also come as ``?api_key=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voxclone.api.deps import ServicesDep, UserKey, presented_key
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    AudioTooLarge,
    AuthenticationError,
    EngineError,
    InvalidAudio,
    InvalidInput,
    MissingField,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unprocessable,
    VoxcloneError,
)
from voxclone.services.container import Services
from voxclone.services.denoise import STREAM_LATENCY_MS, DenoiseSession

router = APIRouter(prefix="/v1/audio/denoise", tags=["noise suppression"])

# WebSocket close codes (RFC 6455 section 7.4.1)
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013


@router.post("", responses={200: {"content": {"audio/wav": {}}}})
async def denoise_file(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """Multipart: ``file`` (WAV, FLAC, OGG or MP3, sniffed by content), ``format`` (wav, mp3,
    flac, ogg, opus, pcm; default: the input's), ``sample_rate`` (default: the input's)."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field="file",
    )
    try:
        if "file" not in form:
            raise MissingField("file is required (a WAV, MP3, FLAC or OGG file)", field="file")
        data = await read_upload(form, "file")
        if data is None:
            raise InvalidAudio("file must be a file upload, not a text field", field="file")
        result = await services.denoise.denoise_file(
            data=data,
            fmt=(text_field(form, "format") or "").strip() or None,
            sample_rate=_sample_rate(text_field(form, "sample_rate")),
        )
    finally:
        await form.close()
    headers = {
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Processing-Time-Ms": str(result.processing_ms),
        "X-Backend": result.backend,
        "Content-Disposition": f'attachment; filename="denoised.{result.format}"',
    }
    return Response(content=result.data, media_type=result.media_type, headers=headers)


@router.websocket("/ws")
async def denoise_stream(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    idle_s = services.settings.deepfilter.ws_idle_timeout_s
    await websocket.accept()
    session: DenoiseSession | None = None
    try:
        key = presented_key(websocket) or websocket.query_params.get("api_key") or None
        principal = await services.keys.authenticate(key)
        if principal.key_id is None:
            raise PermissionDenied("the admin key manages keys only; use a user key")
        start = await _receive_json(websocket, idle_s)
        if start is None:
            return
        if start.get("type") != "start":
            raise InvalidInput(
                'the first message must be {"type": "start", "sample_rate": <Hz>}',
                received_type=start.get("type"),
            )
        session = await services.denoise.open_session(sample_rate=start.get("sample_rate"))
        await websocket.send_json(
            {
                "type": "started",
                "sample_rate": session.sample_rate,
                "encoding": "float32le",
                "latency_ms": STREAM_LATENCY_MS,
            }
        )
        while True:
            message = await _receive(websocket, idle_s)
            if message is None:
                return
            if message.get("bytes") is not None:
                out = await session.feed(message["bytes"])
                if out:
                    await websocket.send_bytes(out)
                continue
            control = _parse_json(message.get("text"))
            if control.get("type") != "stop":
                raise InvalidInput(
                    'expected binary PCM frames or {"type": "stop"}',
                    received_type=control.get("type"),
                )
            tail, summary = await session.finish()
            if tail:
                await websocket.send_bytes(tail)
            await websocket.send_json(summary.as_message())
            await websocket.close(CLOSE_NORMAL)
            return
    except WebSocketDisconnect:
        return
    except VoxcloneError as exc:
        await _fail(websocket, exc)
    finally:
        if session is not None:
            session.close()


async def _receive(websocket: WebSocket, idle_s: float) -> dict[str, Any] | None:
    """The next message, None when the client has gone; refuses a silent client."""
    try:
        message = dict(await asyncio.wait_for(websocket.receive(), timeout=idle_s))
    except TimeoutError:
        raise InvalidInput(
            f"no message for {idle_s:g} s; closing the stream", idle_timeout_s=idle_s
        ) from None
    if message["type"] == "websocket.disconnect":
        return None
    return message


async def _receive_json(websocket: WebSocket, idle_s: float) -> dict[str, Any] | None:
    message = await _receive(websocket, idle_s)
    if message is None:
        return None
    if message.get("text") is None:
        raise InvalidInput(
            'send {"type": "start", "sample_rate": <Hz>} as a text message before any audio'
        )
    return _parse_json(message["text"])


def _parse_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        raise InvalidInput("a text message must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidInput("a text message must be a JSON object")
    return value


async def _fail(websocket: WebSocket, exc: VoxcloneError) -> None:
    """Tell the client what went wrong, in the one error shape, and close."""
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json(
            {"type": "error", "error": exc.code, "message": exc.message, "details": exc.details}
        )
        await websocket.close(_close_code(exc), reason=exc.code)


def _close_code(exc: VoxcloneError) -> int:
    if isinstance(exc, AuthenticationError | PermissionDenied):
        return CLOSE_POLICY
    if isinstance(exc, PayloadTooLarge):
        return CLOSE_TOO_BIG
    if isinstance(exc, RateLimited):
        return CLOSE_TRY_AGAIN
    if isinstance(exc, EngineError):
        return CLOSE_INTERNAL
    if isinstance(exc, AudioDurationOutOfRange):
        return CLOSE_POLICY  # the stream ran past limits.max_speech_audio_s
    if isinstance(exc, InvalidInput | Unprocessable):
        return CLOSE_UNSUPPORTED_DATA  # garbage, NaN, a wrong rate
    return CLOSE_POLICY


def _sample_rate(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(
            f"sample_rate must be a whole number of Hz, got {value!r}", field="sample_rate"
        ) from None
