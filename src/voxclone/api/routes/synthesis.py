from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from voxclone.api.audio import audio_response, parse_output_format, stream_response
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.pronunciation_schemas import locators
from voxclone.api.routes import timestamps
from voxclone.api.schemas import SynthesizeBody, TextToSpeechBody
from voxclone.core.errors import MissingField
from voxclone.services.container import Services
from voxclone.services.synthesis_request import QueuedJob, SynthesisRequest
from voxclone.services.voice_settings import temperature_for

router = APIRouter(tags=["synthesis"])
OUTPUT_FORMAT = Query(None, description="wav (default), mp3_44100_128, pcm_16000…")


@router.post(
    "/v1/synthesize",
    responses={
        200: {
            "content": {
                "audio/wav": {},
                "application/json": {},  # with_timestamps: the audio and its alignment
                "application/x-ndjson": {},  # with_timestamps and stream
            }
        },
        202: {"description": "queued job"},
    },
)
async def synthesize(body: SynthesizeBody, services: ServicesDep, user: UserKey) -> Response:
    """Cache hit: 200 with the audio. Miss: 202 with ``{job_id, status}``; poll the job."""
    voice_id = body.voice_id
    if not voice_id:
        raise MissingField("voice_id is required", field="voice_id")
    if body.pronunciation_dictionary_locators:
        text = await services.pronunciation.apply(
            key_id=user.key_id or "",
            locators=locators(body.pronunciation_dictionary_locators),
            text=services.synthesis.check_text(body.text),
        )
        body = body.model_copy(update={"text": text, "pronunciation_dictionary_locators": None})
    if body.with_timestamps:
        return await timestamps.synthesize_with_timestamps(body, services, user)
    text = services.synthesis.check_text(body.text)
    fmt, rate = parse_output_format(body.format)
    callback_url = await services.webhooks.check_callback_url(body.callback_url)
    outcome = await services.synthesis.request(
        caller=user,
        callback_url=callback_url,
        req=SynthesisRequest(
            voice_id=voice_id,
            text=text,
            lang=body.lang,
            backend=body.backend,
            format=fmt,
            sample_rate=body.sample_rate or rate,
            speed=body.speed,
            seed=body.seed,
        ),
    )
    if isinstance(outcome, QueuedJob):
        return JSONResponse(
            {"job_id": outcome.job_id, "status": outcome.status},
            status_code=202,
            headers={
                "X-Cache": "MISS",
                "X-Voice-Id": outcome.voice_id,
                "X-Backend": outcome.backend,
                "X-Synthesis-Time-Ms": "-1",
                "Location": f"/v1/jobs/{outcome.job_id}",
            },
        )
    return audio_response(outcome)


@router.post("/v1/text-to-speech/{voice_id}", responses={200: {"content": {"audio/wav": {}}}})
async def text_to_speech(
    voice_id: str,
    body: TextToSpeechBody,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> Response:
    """Synchronous synthesis (ElevenLabs-shaped): the audio is the response."""
    req = await _text_to_speech_request(services, user, voice_id, body, output_format)
    return audio_response(await services.synthesis.synthesize_now(caller=user, req=req))


@router.post(
    "/v1/text-to-speech/{voice_id}/stream",
    responses={
        200: {"content": {"audio/wav": {}, "audio/mpeg": {}, "application/octet-stream": {}}}
    },
)
async def text_to_speech_stream(
    voice_id: str,
    body: TextToSpeechBody,
    services: ServicesDep,
    user: UserKey,
    output_format: str | None = OUTPUT_FORMAT,
) -> StreamingResponse:
    """Streamed synthesis (ElevenLabs' ``/stream``): the audio is sent, chunked, as each
    sentence is synthesized; ``wav`` (of unknown length), ``mp3`` or ``pcm`` only. Errors
    before the first audio are JSON errors as usual; a failure later cuts the body short.
    No X-Audio-Duration or X-Synthesis-Time-Ms on a cache miss: they are not known yet."""
    req = await _text_to_speech_request(services, user, voice_id, body, output_format)
    return stream_response(await services.synthesis.stream(caller=user, req=req))


async def _text_to_speech_request(
    services: Services,
    user: UserKey,
    voice_id: str,
    body: TextToSpeechBody,
    output_format: str | None,
) -> SynthesisRequest:
    text = services.synthesis.check_text(body.text)
    text = await services.pronunciation.apply(
        key_id=user.key_id or "",
        locators=locators(body.pronunciation_dictionary_locators),
        text=text,
    )
    fmt, rate = parse_output_format(output_format or body.output_format or "wav")
    return SynthesisRequest(
        voice_id=voice_id,
        text=text,
        lang=body.language_code,
        backend=body.model_id,
        format=fmt,
        sample_rate=rate,
        speed=body.voice_settings.speed if body.voice_settings else 1.0,
        seed=body.seed,
        temperature=temperature_for(body.voice_settings.stability if body.voice_settings else None),
    )
