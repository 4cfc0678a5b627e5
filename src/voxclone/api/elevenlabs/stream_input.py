"""ElevenLabs' input streaming, ``WS /v1/text-to-speech/{voice_id}/stream-input``: text in as
an LLM writes it, ``{"audio": base64, "alignment", "normalizedAlignment", "isFinal": null}``
out per chunk of speech, then ``{"isFinal": true}`` and close 1000.

Query: ``output_format`` (mp3_*, the default mp3_44100_128, pcm_*, ulaw_8000, alaw_8000),
``model_id``, ``language_code``. The key: ``xi-api-key`` (or ``Authorization``) header,
``?api_key=``, or ``xi-api-key`` in the first message, as ElevenLabs allows. Messages:
``{"text": " ", "voice_settings": {...}}`` first, then ``{"text": "...", "flush": bool}``;
``{"text": ""}`` ends the input. Whole sentences are spoken once the next has begun (as
``WS /v1/text-to-speech/{voice_id}/ws``), each through ``SynthesisService.stream_timed``
(admitted, cached and recorded per sentence). Alignment times are in milliseconds from the
start of the message's own audio (``charStartTimesMs``, ``charDurationsMs``, ``chars``).
Errors: ``{"message", "error"}``, then a close code as on every voxclone WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voxclone.api.deps import count_request, presented_key
from voxclone.api.elevenlabs import formats
from voxclone.api.elevenlabs.formats import ElevenLabsFormat
from voxclone.api.elevenlabs.schemas import ElevenLabsVoiceSettings, stored_settings
from voxclone.api.elevenlabs.tts import backend_for_model
from voxclone.api.ws import CLOSE_NORMAL, close_code, parse_json
from voxclone.core.errors import (
    InvalidInput,
    PermissionDenied,
    TimestampsUnsupported,
    UnsupportedFormat,
    VoxcloneError,
)
from voxclone.engines.alignment import Alignment
from voxclone.services.container import Services
from voxclone.services.keys import Principal
from voxclone.services.synthesis.plan import speakable
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.services.text_stream import SentenceBuffer
from voxclone.services.voice_settings import temperature_for

router = APIRouter(tags=["elevenlabs"])
ENTRY = "ws"


@router.websocket("/v1/text-to-speech/{voice_id}/stream-input")
async def stream_input(websocket: WebSocket, voice_id: str) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    try:
        fmt = formats.parse(websocket.query_params.get("output_format"))
        if not (fmt.streams and fmt.codec != "wav"):
            raise UnsupportedFormat(
                f"output_format {fmt.name!r} cannot be streamed over the WebSocket; use mp3_*, "
                "pcm_*, ulaw_8000 or alaw_8000",
                field="output_format",
                format=fmt.name,
            )
        first = await _message(websocket, services)
        user = await _authenticate(websocket, services, first)
        assert user.key_id is not None
        voice = await services.voices.find(key_id=user.key_id, voice=voice_id)
        settings = stored_settings(voice)
        given = first.get("voice_settings") if first is not None else None
        if isinstance(given, dict):
            settings.update(_settings(given))
        query = websocket.query_params
        req = SynthesisRequest(
            voice_id=voice.id,
            text="",
            lang=query.get("language_code") or None,
            backend=backend_for_model(services, query.get("model_id")),
            format=fmt.codec,
            sample_rate=fmt.sample_rate,
            speed=float(settings.get("speed") or 1.0),
            temperature=temperature_for(settings.get("stability")),
        )
        await services.synthesis.check(key_id=user.key_id, req=req)
        await services.synthesis.admission.admit(user, characters=0)  # a spent quota: now
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        if first is not None:
            _take(first, SentenceBuffer(), queue)  # the first message's text is " ": nothing
        await _run(websocket, services, user, req, fmt, queue)
    except WebSocketDisconnect:
        return
    except VoxcloneError as exc:
        await _fail(websocket, exc)


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    try:
        return ElevenLabsVoiceSettings(**given).model_dump(exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"voice_settings: {problems}", field="voice_settings") from None


async def _run(
    websocket: WebSocket,
    services: Services,
    user: Principal,
    req: SynthesisRequest,
    fmt: ElevenLabsFormat,
    queue: asyncio.Queue[str | None],
) -> None:
    speaker = asyncio.create_task(_speak(websocket, services, user, req, fmt, queue))
    listener = asyncio.create_task(_listen(websocket, services, queue))
    try:
        done, _ = await asyncio.wait({speaker, listener}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
        if listener in done and not speaker.done():
            await speaker
    finally:
        for task in (speaker, listener):
            task.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(speaker, listener, return_exceptions=True)


async def _message(websocket: WebSocket, services: Services) -> dict[str, Any] | None:
    """The next JSON message; None when the client has gone."""
    idle = services.settings.limits.tts_ws_idle_timeout_s
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=idle)
    except TimeoutError:
        raise InvalidInput(f"no message for {idle:g} s; closing the stream") from None
    if message["type"] == "websocket.disconnect":
        return None
    if message.get("text") is None:
        raise InvalidInput('send JSON text messages, {"text": "..."}; not binary')
    return parse_json(message["text"])


async def _authenticate(
    websocket: WebSocket, services: Services, first: dict[str, Any] | None
) -> Principal:
    key = presented_key(websocket) or websocket.query_params.get("api_key") or None
    if key is None and first is not None:
        given = first.get("xi-api-key") or first.get("xi_api_key") or first.get("authorization")
        if isinstance(given, str) and given.strip():
            key = given.strip().removeprefix("Bearer ").strip()
    principal = await services.keys.authenticate(key)
    if principal.key_id is None:
        raise PermissionDenied("the admin key manages keys only; use a user key")
    await count_request(websocket, services, principal)
    return principal


async def _listen(
    websocket: WebSocket, services: Services, queue: asyncio.Queue[str | None]
) -> None:
    buffer = SentenceBuffer()
    while True:
        body = await _message(websocket, services)
        if body is None or not _take(body, buffer, queue):
            if body is None:
                queue.put_nowait(None)
            return


def _take(body: dict[str, Any], buffer: SentenceBuffer, queue: asyncio.Queue[str | None]) -> bool:
    """Queue the sentences ``body`` completes; False once the input has ended."""
    text = body.get("text")
    if not isinstance(text, str):
        raise InvalidInput('every message needs "text": a string ("" ends the input)')
    pieces = buffer.add(text) if text else []
    if text == "" or body.get("flush") is True:
        pieces += buffer.drain()
    for piece in pieces:
        if speakable(piece):
            queue.put_nowait(piece)
    if text == "":
        queue.put_nowait(None)
        return False
    return True


async def _speak(
    websocket: WebSocket,
    services: Services,
    user: Principal,
    req: SynthesisRequest,
    fmt: ElevenLabsFormat,
    queue: asyncio.Queue[str | None],
) -> None:
    spoken = 0
    while (sentence := await queue.get()) is not None:
        piece_req = dataclasses.replace(req, text=sentence)
        lead = spoken > 0  # the space between sentences begins the next one's characters
        async for data, alignment in _sentence(services, user, piece_req, fmt):
            message: dict[str, Any] = {"audio": base64.b64encode(data).decode(), "isFinal": None}
            if alignment is not None:
                if lead:
                    alignment = _lead_space(alignment)
                    lead = False
                message["alignment"] = message["normalizedAlignment"] = alignment
            await websocket.send_json(message)
        spoken += 1
    await websocket.send_json({"isFinal": True})
    await websocket.close(CLOSE_NORMAL)


async def _sentence(
    services: Services, user: Principal, req: SynthesisRequest, fmt: ElevenLabsFormat
) -> AsyncIterator[tuple[bytes, dict[str, Any] | None]]:
    """One sentence's audio messages, each with its characters' times from its own start."""
    synthesis = services.synthesis
    try:
        timed = await synthesis.stream_timed(caller=user, req=req, entry=ENTRY)
    except TimestampsUnsupported:  # an engine that cannot time its speech: audio only
        plain = await synthesis.stream(caller=user, req=req, entry=ENTRY)
        async for data in formats.companded(fmt, plain.pieces):
            yield data, None
        return
    bytes_per_s = 2 * fmt.sample_rate
    sent_s, rest = 0.0, b""
    async with contextlib.aclosing(timed.pieces) as pieces:
        async for piece in pieces:
            data = rest + piece.data
            whole = len(data) - len(data) % 2 if fmt.codec == "pcm" else len(data)
            data, rest = data[:whole], data[whole:]
            if not data and piece.alignment is None:
                continue
            start = sent_s
            if fmt.codec == "pcm":
                sent_s += len(data) / bytes_per_s
            elif piece.alignment is not None and piece.alignment.characters:
                sent_s = piece.alignment.end_s
            yield formats.compand(fmt, data), _ms(piece.alignment, start)


def _ms(alignment: Alignment | None, offset_s: float) -> dict[str, Any] | None:
    if alignment is None or not alignment.characters:
        return None
    starts = [max(0, round((s - offset_s) * 1000)) for s in alignment.starts]
    durations = [
        max(0, round((e - s) * 1000)) for s, e in zip(alignment.starts, alignment.ends, strict=True)
    ]
    return {
        "chars": list(alignment.characters),
        "charStartTimesMs": starts,
        "charDurationsMs": durations,
        "charsDurationsMs": durations,  # the name ElevenLabs' own documentation uses
    }


def _lead_space(alignment: dict[str, Any]) -> dict[str, Any]:
    start = alignment["charStartTimesMs"][0]
    return {
        "chars": [" ", *alignment["chars"]],
        "charStartTimesMs": [start, *alignment["charStartTimesMs"]],
        "charDurationsMs": [0, *alignment["charDurationsMs"]],
        "charsDurationsMs": [0, *alignment["charsDurationsMs"]],
    }


async def _fail(websocket: WebSocket, exc: VoxcloneError) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_json({"message": exc.message, "error": exc.code})
        await websocket.close(close_code(exc), reason=exc.code)
