"""``WS /v1/text-to-speech/{voice_id}/ws``: text in as an LLM writes it, speech out as it is
synthesized (ElevenLabs' input streaming, ``stream-input``, in voxclone's WebSocket ways).

Query: ``output_format`` (``pcm`` at the engine's rate, the default, or ``pcm_<rate>``:
``pcm_16000``, ``pcm_22050``, ``pcm_24000``, ``pcm_44100``, ``pcm_48000``…), ``model_id`` (a
backend), ``language_code``; the key in a header or as ``?api_key=``. Once the voice, engine,
language and format are checked the server sends ``{"type": "started", "voice_id", "backend",
"sample_rate", "encoding": "pcm_s16le"}``.

The client sends JSON text messages ``{"text": "..."}`` (the first may carry
``voice_settings.speed``; ``"flush": true`` synthesizes what is buffered now; ``{"text": ""}``
ends the input). Whole sentences are synthesized as soon as the next one has begun; the audio
comes back as binary messages of PCM s16le mono, in text order, then
``{"type": "final", "isFinal": true, ...totals}`` and close 1000. Errors are sent and closed as
on every WebSocket (``api/ws.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket

from voxclone.api.audio import parse_output_format
from voxclone.api.ws import (
    CLOSE_NORMAL,
    authenticate_user,
    closing_on_error,
    json_text,
    receive,
)
from voxclone.config import LimitSettings
from voxclone.core.errors import InvalidInput, PayloadTooLarge, UnsupportedFormat
from voxclone.services.container import Services
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.services.text_stream import TextStream

router = APIRouter(tags=["synthesis"])

FRAME_BYTES = 32 * 1024
"""Largest binary message: a sentence of audio is sent in frames of whole samples up to this."""


@router.websocket("/v1/text-to-speech/{voice_id}/ws")
async def text_to_speech_ws(websocket: WebSocket, voice_id: str) -> None:
    services: Services = websocket.app.state.services
    limits = services.settings.limits
    await websocket.accept()
    async with closing_on_error(websocket):
        user = await authenticate_user(websocket, services)
        stream = await TextStream.open(
            synthesis=services.synthesis,
            caller=user,
            request=_request(websocket, voice_id),
            max_pending_chars=limits.max_text_chars,
            max_chars=limits.tts_ws_max_chars,
        )
        await websocket.send_json(
            {
                "type": "started",
                "voice_id": stream.voice_id,
                "backend": stream.backend,
                "sample_rate": stream.sample_rate,
                "encoding": "pcm_s16le",
            }
        )
        speaker = asyncio.create_task(_speak(websocket, stream))
        listener = asyncio.create_task(_listen(websocket, stream, limits))
        try:
            done, _ = await asyncio.wait({speaker, listener}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the speaker's or listener's error, if either failed
        finally:
            for task in (speaker, listener):
                task.cancel()
            # Shielded: when the server cancels this handler (a client gone, a shutdown), the
            # tasks must still be reaped here rather than the wait itself being cancelled.
            with anyio.CancelScope(shield=True):
                await asyncio.gather(speaker, listener, return_exceptions=True)


def _request(websocket: WebSocket, voice_id: str) -> SynthesisRequest:
    query = websocket.query_params
    output_format = query.get("output_format") or "pcm"
    codec, rate = parse_output_format(output_format)
    if codec != "pcm":
        raise UnsupportedFormat(
            f"output format {output_format!r} cannot be sent over the WebSocket; it sends raw "
            "PCM: pcm (the engine's rate) or pcm_<rate> (pcm_16000, pcm_24000, pcm_44100…)",
            format=output_format,
        )
    return SynthesisRequest(
        voice_id=voice_id,
        text="",
        lang=query.get("language_code") or None,
        backend=query.get("model_id") or None,
        format="pcm",
        sample_rate=rate,
    )


async def _listen(websocket: WebSocket, stream: TextStream, limits: LimitSettings) -> None:
    """Text messages into ``stream`` until the client goes; after the end of the input, what
    the client sends is ignored while the rest is spoken."""
    first = True
    while True:
        message = await receive(
            websocket, limits.tts_ws_idle_timeout_s, busy=lambda: stream.busy or stream.ended
        )
        if message is None:
            return
        if stream.ended:
            continue
        size = len((message.get("text") or "").encode())
        if size > limits.tts_ws_max_message_bytes:
            raise PayloadTooLarge(
                f"a message of {size} bytes; at most {limits.tts_ws_max_message_bytes} are allowed",
                size=size,
                max_bytes=limits.tts_ws_max_message_bytes,
            )
        body = json_text(
            message, binary='send text as JSON text messages, {"text": "..."}; not binary'
        )
        text, flush, speed = _parse(body, first=first)
        if speed is not None:
            await stream.set_speed(speed)
        first = False
        if text == "":
            stream.end()
        else:
            stream.add(text, flush=flush)


def _parse(body: dict[str, Any], *, first: bool) -> tuple[str, bool, float | None]:
    """``text``, ``flush`` and, in the first message only, ``voice_settings.speed``, their
    types checked. Other fields (ElevenLabs' ``try_trigger_generation``…) are ignored."""
    text = body.get("text")
    if not isinstance(text, str):
        raise InvalidInput('every message needs "text": a string ("" ends the input)', field="text")
    flush = body.get("flush", False)
    if not isinstance(flush, bool):
        raise InvalidInput('"flush" must be true or false', field="flush")
    settings = body.get("voice_settings") if first else None
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise InvalidInput('"voice_settings" must be an object', field="voice_settings")
    speed = settings.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)):
        raise InvalidInput('"voice_settings.speed" must be a number', field="voice_settings.speed")
    return text, flush, None if speed is None else float(speed)


async def _speak(websocket: WebSocket, stream: TextStream) -> None:
    """The audio as binary frames, then the totals and close 1000."""
    async with contextlib.aclosing(stream.audio()) as audio:
        async for data in audio:
            for at in range(0, len(data), FRAME_BYTES):
                await websocket.send_bytes(data[at : at + FRAME_BYTES])
    totals = stream.totals()
    await websocket.send_json(
        {
            "type": "final",
            "isFinal": True,
            "characters": totals.characters,
            "duration_s": round(totals.audio_s, 3),
            "pieces": totals.pieces,
            "cache_hits": totals.cache_hits,
            "sample_rate": totals.sample_rate,
        }
    )
    await websocket.close(CLOSE_NORMAL)
