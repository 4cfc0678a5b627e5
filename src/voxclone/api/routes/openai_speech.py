"""OpenAI's text-to-speech API: ``POST /v1/audio/speech`` and ``GET /v1/models``, so the
official ``openai`` SDK (and anything built for OpenAI's speech API) can speak in a cloned voice.

``voice`` is one of the key's voices, by id or by name; ``model`` is OpenAI's name (the voice's
own backend) or a voxclone backend. Synthesis is ``POST /v1/text-to-speech/{voice_id}``'s: the
same cache, the same headers, the same errors; with ``"stream": true`` (Kokoro-FastAPI's field)
it is ``/v1/text-to-speech/{voice_id}/stream``'s. ``"stream_format": "sse"`` sends the audio as
OpenAI's server-sent events (``speech.audio.delta`` with base64 audio, then ``speech.audio.done``).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response

from voxclone.api.audio import audio_response, stream_response
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import ModelList, ModelPublic, SpeechCreate, VoiceRef
from voxclone.api.sse import sse_response
from voxclone.audio import STREAM_FORMATS as CHUNKED_FORMATS
from voxclone.core.errors import UnsupportedFormat
from voxclone.services.openai_models import ModelEntry, get_model, list_models
from voxclone.services.synthesis_request import SynthesisRequest

router = APIRouter(tags=["openai-compatible"])

RESPONSE_FORMATS = {"mp3": "mp3", "opus": "opus", "flac": "flac", "wav": "wav", "pcm": "pcm"}
"""OpenAI's ``response_format`` -> voxclone's output format (``opus`` is Opus in Ogg)."""
PCM_SAMPLE_RATE = 24000
"""OpenAI's ``pcm`` is 24 kHz: clients play it at that rate, so every engine's audio is
resampled to it."""
STREAM_FORMATS = ("audio", "sse")


@router.post(
    "/v1/audio/speech",
    responses={
        200: {
            "content": {
                "audio/mpeg": {},
                "audio/ogg": {},
                "audio/flac": {},
                "audio/wav": {},
                "application/octet-stream": {},
                "text/event-stream": {},
            }
        }
    },
)
async def create_speech(body: SpeechCreate, services: ServicesDep, user: UserKey) -> Response:
    """OpenAI-compatible speech: the audio is the response body (``response_format``, mp3 by
    default), with voxclone's X-Audio-Duration, X-Voice-Id, X-Backend, X-Synthesis-Time-Ms and
    X-Cache headers. ``instructions`` is accepted and ignored (no built-in engine takes style
    prompts). With ``"stream": true`` the audio is sent as each sentence is synthesized (mp3,
    wav or pcm; no X-Audio-Duration or X-Synthesis-Time-Ms on a cache miss). With
    ``"stream_format": "sse"``: server-sent events, ``speech.audio.delta`` (``audio``: base64
    of the next bytes of the file; per sentence for mp3, wav and pcm, the whole file at once
    for other formats), then ``speech.audio.done`` with ``usage`` (characters billed as
    ``input_tokens``; voxclone has no tokens)."""
    assert user.key_id is not None
    synthesis = services.synthesis
    text = synthesis.check_text(body.input, field="input")
    backend = synthesis.backend_for_model(body.model)
    fmt = _output_format(body.response_format)
    sse = _check_stream_format(body.stream_format)
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
    if sse:
        return await _sse(services, user, req)
    if body.stream:
        return stream_response(await synthesis.stream(caller=user, req=req, entry="openai"))
    return audio_response(await synthesis.synthesize_now(caller=user, req=req, entry="openai"))


@router.get("/v1/models", response_model=ModelList)
async def list_openai_models(services: ServicesDep, _user: UserKey) -> ModelList:
    """OpenAI's model list: ``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts``…, the text-to-speech
    backends, ``whisper-1`` and the speech-to-text backends. ``created`` is when this server
    started (engines have no release date)."""
    created = services.started_unix
    return ModelList(data=[_public(m, created) for m in list_models(services.engines)])


@router.get("/v1/models/{model_id}", response_model=ModelPublic)
async def get_openai_model(model_id: str, services: ServicesDep, _user: UserKey) -> ModelPublic:
    """One model of ``GET /v1/models``, or 404."""
    return _public(get_model(services.engines, model_id), services.started_unix)


def _public(model: ModelEntry, created: int) -> ModelPublic:
    return ModelPublic(id=model.id, created=created)


def _output_format(value: str) -> str:
    fmt = RESPONSE_FORMATS.get(value.strip().lower())
    if fmt is None:
        supported = list(RESPONSE_FORMATS)
        raise UnsupportedFormat(
            f"response_format {value!r} is not supported; use one of {', '.join(supported)}",
            field="response_format",
            format=value,
            supported=supported,
        )
    return fmt


async def _sse(services: ServicesDep, user: UserKey, req: SynthesisRequest) -> Response:
    """The speech as OpenAI's events. Admitted and recorded like the other paths: everything
    that can refuse it (voice, engine, quota, first chunk) does so before the first event."""
    synthesis = services.synthesis
    pieces: AsyncIterator[bytes]
    voice_id: str | None
    if req.format in CHUNKED_FORMATS:
        stream = await synthesis.stream(caller=user, req=req, entry="openai")
        pieces, backend, voice_id = stream.pieces, stream.backend, stream.voice_id
    else:
        whole = await synthesis.synthesize_now(caller=user, req=req, entry="openai")
        pieces, backend, voice_id = _one(whole.data), whole.backend, whole.voice_id
    characters = len(req.text)

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for piece in pieces:
            if piece:
                yield {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}
        usage = {"input_tokens": characters, "output_tokens": 0, "total_tokens": characters}
        yield {"type": "speech.audio.done", "usage": usage}

    headers = {"X-Backend": backend, **({"X-Voice-Id": voice_id} if voice_id else {})}
    return sse_response(events(), headers=headers)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _check_stream_format(value: str | None) -> bool:
    """True for server-sent events, False for the audio itself; anything else is refused."""
    if value is None:
        return False
    chosen = value.strip().lower()
    if chosen in STREAM_FORMATS:
        return chosen == "sse"
    raise UnsupportedFormat(
        f"stream_format {value!r} is not supported; use audio (the audio itself) or sse "
        "(server-sent events)",
        field="stream_format",
        format=value,
        supported=list(STREAM_FORMATS),
    )
