"""Speech with timestamps and captions (docs/api.md, "Timestamps and captions").

- ``POST /v1/synthesize`` with ``"with_timestamps": true``: JSON with the audio in base64, the
  character ``alignment`` (over the request's text) and ``normalized_alignment`` (over the text
  as spoken) in ElevenLabs' shape, and ``words``; with ``"stream": true``, newline-delimited
  JSON, one line per chunk; with ``caption_format``, the SRT or WebVTT captions too.
- ``POST /v1/synthesize/captions?format=vtt|srt``: the captions of the speech as a file.
- ``POST /dev/captioned_speech``: Kokoro-FastAPI's captioned speech (OpenAI's speech body).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from voxclone.api.audio import parse_output_format
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.pronunciation_schemas import locators
from voxclone.api.routes.openai_speech import PCM_SAMPLE_RATE, RESPONSE_FORMATS
from voxclone.api.schemas import SynthesizeBody, VoiceRef
from voxclone.api.timestamp_schemas import CaptionedSpeech
from voxclone.core.errors import MissingField, UnsupportedFormat
from voxclone.engines.alignment import WordTiming, words_of
from voxclone.services.captions import CAPTION_FORMATS, MEDIA_TYPES, captions
from voxclone.services.container import Services
from voxclone.services.keys import Principal
from voxclone.services.synthesis.timed import TimedAudio
from voxclone.services.synthesis.timed_stream import TimedStream
from voxclone.services.synthesis_request import SynthesisRequest, SynthesizedAudio

router = APIRouter(tags=["timestamps"])
NDJSON = "application/x-ndjson"


async def synthesize_with_timestamps(
    body: SynthesizeBody, services: ServicesDep, user: UserKey
) -> Response:
    """``POST /v1/synthesize`` with ``with_timestamps``: synchronous, JSON (or NDJSON)."""
    caption_format = _caption_format(body.caption_format) if body.caption_format else None
    req = _request(body, services)
    if body.stream:
        stream = await services.synthesis.stream_timed(caller=user, req=req)
        return StreamingResponse(_lines(stream), media_type=NDJSON, headers=_headers(stream))
    timed = await services.synthesis.synthesize_timed(caller=user, req=req)
    content = {
        "audio_base64": base64.b64encode(timed.audio.data).decode("ascii"),
        "media_type": timed.audio.media_type,
        "duration_s": timed.audio.duration_s,
        "voice_id": timed.audio.voice_id,
        "backend": timed.audio.backend,
        "cache_hit": timed.audio.cache_hit,
        "alignment": timed.original.to_elevenlabs(),
        "normalized_alignment": timed.alignment.to_elevenlabs(),
        "words": [_word(w) for w in timed.words],
    }
    if caption_format:
        content["captions"] = captions(timed.words, caption_format)
    return JSONResponse(content, headers=_headers(timed.audio))


@router.post(
    "/v1/synthesize/captions",
    responses={200: {"content": {"text/vtt": {}, "application/x-subrip": {}}}},
)
async def synthesize_captions(
    body: SynthesizeBody,
    services: ServicesDep,
    user: UserKey,
    format: str = Query("vtt", description="vtt (WebVTT) or srt (SubRip)."),
) -> Response:
    """The captions of the speech ``POST /v1/synthesize`` makes for the same body, timed by
    the engine; the audio is cached with its timing, so asking for it next is a cache hit."""
    fmt = _caption_format(format)
    if body.pronunciation_dictionary_locators:
        text = await services.pronunciation.apply(
            key_id=user.key_id or "",
            locators=locators(body.pronunciation_dictionary_locators),
            text=services.synthesis.check_text(body.text),
        )
        body = body.model_copy(update={"text": text})
    timed = await services.synthesis.synthesize_timed(caller=user, req=_request(body, services))
    return Response(
        captions(timed.words, fmt), media_type=MEDIA_TYPES[fmt], headers=_headers(timed.audio)
    )


@router.post("/dev/captioned_speech", tags=["openai-compatible"])
async def captioned_speech(body: CaptionedSpeech, services: ServicesDep, user: UserKey) -> Response:
    """Kokoro-FastAPI's captioned speech: ``{"audio" (base64), "audio_format", "timestamps":
    [{"word", "start_time", "end_time"}]}``; with ``stream`` (the default) one such JSON line
    per chunk, times from the start of the whole audio."""
    req, fmt = await _speech_request(body, services, user)
    if body.stream:
        stream = await services.synthesis.stream_timed(caller=user, req=req, entry="openai")
        lines = _captioned_lines(stream, fmt, timestamps=body.return_timestamps)
        return StreamingResponse(lines, media_type=NDJSON, headers=_headers(stream))
    timed = await services.synthesis.synthesize_timed(caller=user, req=req, entry="openai")
    content = _captioned(timed, fmt, body.return_timestamps)
    return JSONResponse(content, headers=_headers(timed.audio))


def _request(body: SynthesizeBody, services: Services) -> SynthesisRequest:
    if not body.voice_id:
        raise MissingField("voice_id is required", field="voice_id")
    text = services.synthesis.check_text(body.text)
    fmt, rate = parse_output_format(body.format)
    return SynthesisRequest(
        voice_id=body.voice_id,
        text=text,
        lang=body.lang,
        backend=body.backend,
        format=fmt,
        sample_rate=body.sample_rate or rate,
        speed=body.speed,
        seed=body.seed,
    )


async def _speech_request(
    body: CaptionedSpeech, services: Services, user: Principal
) -> tuple[SynthesisRequest, str]:
    assert user.key_id is not None
    text = services.synthesis.check_text(body.input, field="input")
    backend = services.synthesis.backend_for_model(body.model)
    fmt = RESPONSE_FORMATS.get(body.response_format.strip().lower())
    if fmt is None:
        raise UnsupportedFormat(
            f"response_format {body.response_format!r} is not supported; use one of "
            f"{', '.join(RESPONSE_FORMATS)}",
            field="response_format",
            format=body.response_format,
            supported=list(RESPONSE_FORMATS),
        )
    wanted = body.voice.id if isinstance(body.voice, VoiceRef) else body.voice
    voice = await services.voices.find(key_id=user.key_id, voice=wanted)
    req = SynthesisRequest(
        voice_id=voice.id,
        text=text,
        backend=backend,
        format=fmt,
        sample_rate=PCM_SAMPLE_RATE if fmt == "pcm" else None,
        speed=body.speed,
    )
    return req, fmt


def _caption_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in CAPTION_FORMATS:
        raise UnsupportedFormat(
            f"caption format {value!r} is not supported; use one of {', '.join(CAPTION_FORMATS)}",
            field="format",
            format=value,
            supported=list(CAPTION_FORMATS),
        )
    return fmt


def _word(word: WordTiming) -> dict[str, Any]:
    return {"word": word.word, "start": word.start_s, "end": word.end_s}


def _captioned(timed: TimedAudio, fmt: str, timestamps: bool) -> dict[str, Any]:
    return {
        "audio": base64.b64encode(timed.audio.data).decode("ascii"),
        "audio_format": fmt,
        "timestamps": [_kokoro_word(w) for w in timed.words] if timestamps else None,
    }


def _kokoro_word(word: WordTiming) -> dict[str, Any]:
    return {"word": word.word, "start_time": word.start_s, "end_time": word.end_s}


async def _lines(stream: TimedStream) -> AsyncGenerator[bytes, None]:
    async for piece in stream.pieces:
        line = {
            "audio_base64": base64.b64encode(piece.data).decode("ascii"),
            "alignment": piece.alignment.to_elevenlabs() if piece.alignment else None,
            "words": [_word(w) for w in words_of(piece.alignment)] if piece.alignment else [],
        }
        yield json.dumps(line).encode() + b"\n"


async def _captioned_lines(
    stream: TimedStream, fmt: str, *, timestamps: bool
) -> AsyncGenerator[bytes, None]:
    async for piece in stream.pieces:
        words = words_of(piece.alignment) if piece.alignment else []
        line = {
            "audio": base64.b64encode(piece.data).decode("ascii"),
            "audio_format": fmt,
            "timestamps": [_kokoro_word(w) for w in words] if timestamps else None,
        }
        yield json.dumps(line).encode() + b"\n"


def _headers(audio: SynthesizedAudio | TimedStream) -> dict[str, str]:
    headers = {"X-Cache": "HIT" if audio.cache_hit else "MISS", "X-Backend": audio.backend}
    if audio.voice_id:
        headers["X-Voice-Id"] = audio.voice_id
    if isinstance(audio, SynthesizedAudio):
        headers["X-Audio-Duration"] = f"{audio.duration_s:.3f}"
        headers["X-Synthesis-Time-Ms"] = str(audio.synthesis_ms)
    return headers
