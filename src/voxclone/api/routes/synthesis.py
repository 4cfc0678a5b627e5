from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from voxclone.api.audio import audio_response, parse_output_format
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import SynthesizeBody, TextToSpeechBody
from voxclone.core.errors import MissingField
from voxclone.services.synthesis import QueuedJob, SynthesisRequest

router = APIRouter(tags=["synthesis"])


@router.post(
    "/v1/synthesize",
    responses={200: {"content": {"audio/wav": {}}}, 202: {"description": "queued job"}},
)
async def synthesize(body: SynthesizeBody, services: ServicesDep, user: UserKey) -> Response:
    """Cache hit: 200 with the audio. Miss: 202 with ``{job_id, status}``; poll the job."""
    if not body.voice_id:
        raise MissingField("voice_id is required", field="voice_id")
    services.synthesis.check_text(body.text)
    assert user.key_id is not None and body.text is not None
    fmt, rate = parse_output_format(body.format)
    outcome = await services.synthesis.request(
        key_id=user.key_id,
        req=SynthesisRequest(
            voice_id=body.voice_id,
            text=body.text,
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
    output_format: str | None = Query(None, description="wav (default), mp3_44100_128, pcm_16000…"),
) -> Response:
    """Synchronous synthesis (ElevenLabs-shaped): the audio is the response."""
    services.synthesis.check_text(body.text)
    assert user.key_id is not None and body.text is not None
    fmt, rate = parse_output_format(output_format or body.output_format or "wav")
    result = await services.synthesis.synthesize_now(
        key_id=user.key_id,
        req=SynthesisRequest(
            voice_id=voice_id,
            text=body.text,
            lang=body.language_code,
            backend=body.model_id,
            format=fmt,
            sample_rate=rate,
            speed=body.voice_settings.speed if body.voice_settings else 1.0,
            seed=body.seed,
        ),
    )
    return audio_response(result)
