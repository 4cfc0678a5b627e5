"""ElevenLabs' text to speech: ``convert``, ``stream``, ``convert_with_timestamps`` and
``stream_with_timestamps``. Each builds a ``SynthesisRequest`` and goes through
``SynthesisService`` (plan, admit, cache, render, record) like every other way in."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.elevenlabs import formats
from voxclone.api.elevenlabs.formats import ElevenLabsFormat
from voxclone.api.elevenlabs.schemas import TextToSpeechRequest, stored_settings
from voxclone.api.elevenlabs.voices import find_voice
from voxclone.api.pronunciation_schemas import locators
from voxclone.engines.alignment import Alignment
from voxclone.services.container import Services
from voxclone.services.keys import Principal
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.services.voice_settings import temperature_for

router = APIRouter(tags=["elevenlabs"])
OUTPUT_FORMAT = Query(None, description="mp3_44100_128 (default), pcm_16000, ulaw_8000…")
ENTRY = "elevenlabs"


@router.post("/v1/text-to-speech/{voice_id}")
async def convert(
    voice_id: str,
    body: TextToSpeechRequest,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> Response:
    fmt = formats.parse(output_format)
    req = await build_request(services, user, voice_id, body, fmt)
    result = await services.synthesis.synthesize_now(caller=user, req=req, entry=ENTRY)
    headers = {**_headers(req), "X-Backend": result.backend}
    return Response(formats.compand(fmt, result.data), media_type=fmt.media_type, headers=headers)


@router.post("/v1/text-to-speech/{voice_id}/stream")
async def stream(
    voice_id: str,
    body: TextToSpeechRequest,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> StreamingResponse:
    """The audio as it is made (mp3, pcm, wav, ulaw, alaw); Opus comes whole, in one piece."""
    fmt = formats.parse(output_format)
    req = await build_request(services, user, voice_id, body, fmt)
    synthesis = services.synthesis
    pieces: AsyncIterator[bytes]
    if fmt.streams:
        pieces = (await synthesis.stream(caller=user, req=req, entry=ENTRY)).pieces
    else:
        pieces = _one((await synthesis.synthesize_now(caller=user, req=req, entry=ENTRY)).data)
    return StreamingResponse(
        formats.companded(fmt, pieces), media_type=fmt.media_type, headers=_headers(req)
    )


@router.post("/v1/text-to-speech/{voice_id}/with-timestamps")
async def convert_with_timestamps(
    voice_id: str,
    body: TextToSpeechRequest,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> dict[str, Any]:
    """The audio in base64 with ``alignment`` (over the text as sent) and
    ``normalized_alignment`` (over the text as spoken), from the engine's own durations."""
    fmt = formats.parse(output_format)
    req = await build_request(services, user, voice_id, body, fmt)
    timed = await services.synthesis.synthesize_timed(caller=user, req=req, entry=ENTRY)
    return {
        "audio_base64": _b64(formats.compand(fmt, timed.audio.data)),
        "alignment": timed.original.to_elevenlabs(),
        "normalized_alignment": timed.alignment.to_elevenlabs(),
    }


@router.post("/v1/text-to-speech/{voice_id}/stream/with-timestamps")
async def stream_with_timestamps(
    voice_id: str,
    body: TextToSpeechRequest,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> StreamingResponse:
    """One JSON object a line per chunk: ``audio_base64`` and the alignment of that chunk's
    characters, times from the start of the whole audio."""
    fmt = formats.parse(output_format)
    req = await build_request(services, user, voice_id, body, fmt)
    synthesis = services.synthesis
    if not fmt.streams:
        timed = await synthesis.synthesize_timed(caller=user, req=req, entry=ENTRY)
        line = _line(formats.compand(fmt, timed.audio.data), timed.alignment, timed.original)
        return StreamingResponse(_one(line), media_type="application/json")
    timed_stream = await synthesis.stream_timed(caller=user, req=req, entry=ENTRY)

    async def lines() -> AsyncIterator[bytes]:
        rest = b""
        async for piece in timed_stream.pieces:
            data = rest + piece.data
            whole = len(data) - len(data) % 2 if fmt.g711 else len(data)
            rest = data[whole:]
            if whole or piece.alignment is not None:
                chunk = formats.compand(fmt, data[:whole])
                yield _line(chunk, piece.alignment, piece.alignment)

    return StreamingResponse(lines(), media_type="application/json")


async def build_request(
    services: Services,
    user: Principal,
    voice_id: str,
    body: TextToSpeechRequest,
    fmt: ElevenLabsFormat,
) -> SynthesisRequest:
    """The synthesis ``body`` asks for; without ``voice_settings``, the voice's stored ones.
    An unknown voice is 404 ``voice_not_found``."""
    text = await services.pronunciation.apply(
        key_id=user.key_id or "",
        locators=locators(body.pronunciation_dictionary_locators),
        text=services.synthesis.check_text(body.text),
    )
    voice = await find_voice(services, user.key_id, voice_id)
    settings = stored_settings(voice)
    if body.voice_settings is not None:
        settings.update(body.voice_settings.model_dump(exclude_none=True))
    return SynthesisRequest(
        voice_id=voice.id,
        text=text,
        lang=body.language_code or None,
        backend=backend_for_model(services, body.model_id),
        format=fmt.codec,
        sample_rate=fmt.sample_rate,
        speed=float(settings.get("speed") or 1.0),
        seed=body.seed,
        temperature=temperature_for(settings.get("stability")),
    )


def backend_for_model(services: Services, model_id: str | None) -> str | None:
    """ElevenLabs' model ids (``eleven_*``) mean the voice's own engine; a voxclone backend
    name picks that engine; anything else is refused."""
    if not model_id or not model_id.strip() or model_id.strip().startswith("eleven_"):
        return None
    return services.synthesis.backend_for_model(model_id)


def _headers(req: SynthesisRequest) -> dict[str, str]:
    """ElevenLabs' ``character-cost`` (the characters billed) and voxclone's X-Voice-Id."""
    return {"character-cost": str(len(req.text)), "X-Voice-Id": req.voice_id}


def _line(data: bytes, normalized: Alignment | None, original: Alignment | None) -> bytes:
    body = {
        "audio_base64": _b64(data),
        "alignment": original.to_elevenlabs() if original is not None else None,
        "normalized_alignment": normalized.to_elevenlabs() if normalized is not None else None,
    }
    return json.dumps(body).encode() + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data
