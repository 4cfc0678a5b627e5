"""Speech to text over HTTP: OpenAI's ``/v1/audio/transcriptions`` and the provider spec's
``/v1/transcribe``, both on the STT engines of the registry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.datastructures import FormData, UploadFile

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import AudioTooLarge, InvalidAudio, InvalidInput, MissingField
from voxclone.services.keys import Principal
from voxclone.services.transcript_formats import (
    RESPONSE_FORMATS,
    to_json,
    to_srt,
    to_text,
    to_verbose_json,
    to_vtt,
)
from voxclone.services.transcription import TranscriptionRequest, TranscriptionResult
from voxclone.services.usage import UsageRecord

router = APIRouter(tags=["speech-to-text"])

GRANULARITIES = ("segment", "word")


@router.post(
    "/v1/audio/transcriptions",
    responses={200: {"content": {"application/json": {}, "text/plain": {}, "text/vtt": {}}}},
)
async def create_transcription(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """OpenAI-compatible. Multipart: ``file``, ``model`` (``whisper-1`` or an STT engine name),
    ``language``, ``prompt``, ``response_format`` (json, text, srt, vtt, verbose_json),
    ``temperature``, ``timestamp_granularities[]`` (segment, word; with verbose_json)."""
    stt = services.transcription
    form = await _read(request, services, field="file")
    try:
        backend = stt.backend_for_model(text_field(form, "model"))
        response_format = (text_field(form, "response_format") or "json").strip().lower()
        if response_format not in RESPONSE_FORMATS:
            raise InvalidInput(
                f"response_format {response_format!r} is not one of {', '.join(RESPONSE_FORMATS)}",
                field="response_format",
                supported=list(RESPONSE_FORMATS),
            )
        granularities = _granularities(form)
        transcribe = TranscriptionRequest(
            backend=backend,
            language=text_field(form, "language") or None,
            prompt=text_field(form, "prompt") or None,
            temperature=_temperature(text_field(form, "temperature")),
            word_timestamps=response_format == "verbose_json" and "word" in granularities,
        )
        stt.check_request(transcribe)
        data = await _file(form, "file")
    finally:
        await form.close()
    result = await stt.transcribe(data=data, request=transcribe)
    await _meter(services, user, result, entry="openai")
    headers = _headers(result)
    transcript = result.transcript
    if response_format == "text":
        return PlainTextResponse(to_text(transcript), headers=headers)
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript), headers=headers)
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript), media_type="text/vtt", headers=headers)
    if response_format == "verbose_json":
        body = to_verbose_json(
            transcript,
            duration_s=result.duration_s,
            words=transcribe.word_timestamps,
            segments=not granularities or "segment" in granularities,
        )
        return JSONResponse(body, headers=headers)
    return JSONResponse(to_json(transcript), headers=headers)


@router.post("/v1/transcribe")
async def transcribe(request: Request, services: ServicesDep, user: UserKey) -> JSONResponse:
    """The provider spec's shape: multipart ``audio``, ``language`` (and voxclone's optional
    ``backend``) → ``{"text", "language", "duration", "segments": [{"id", "start", "end",
    "text"}]}``."""
    stt = services.transcription
    form = await _read(request, services, field="audio")
    try:
        backend = text_field(form, "backend") or None
        transcribe_request = TranscriptionRequest(
            backend=stt.backend_for_model(backend) if backend else None,
            language=text_field(form, "language") or None,
        )
        data = await _file(form, "audio")
    finally:
        await form.close()
    result = await stt.transcribe(data=data, request=transcribe_request)
    await _meter(services, user, result, entry="transcribe")
    body: dict[str, Any] = {
        "text": result.transcript.text,
        "language": result.transcript.language,
        "duration": result.duration_s,
        "segments": [
            {"id": i, "start": s.start_s, "end": s.end_s, "text": s.text}
            for i, s in enumerate(result.transcript.segments)
        ],
    }
    return JSONResponse(body, headers=_headers(result))


async def _meter(
    services: ServicesDep, user: Principal, result: TranscriptionResult, *, entry: str
) -> None:
    """Record a transcription that succeeded: the seconds of audio it heard."""
    assert user.key_id is not None
    await services.recorder.record_usage(
        UsageRecord(
            key_id=user.key_id,
            kind="stt",
            entry=entry,
            backend=result.backend,
            audio_in_s=result.duration_s,
        )
    )


async def _read(request: Request, services: ServicesDep, *, field: str) -> FormData:
    return await read_form(
        request,
        max_file_bytes=services.settings.limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field=field,
    )


async def _file(form: FormData, field: str) -> bytes:
    if field not in form:
        raise MissingField(f"{field} is required (a WAV, MP3, FLAC or OGG file)", field=field)
    data = await read_upload(form, field)
    if data is None:
        raise InvalidAudio(f"{field} must be a file upload, not a text field", field=field)
    return data


def _granularities(form: FormData) -> set[str]:
    values = [
        v
        for name in ("timestamp_granularities[]", "timestamp_granularities")
        for v in form.getlist(name)
        if not isinstance(v, UploadFile)
    ]
    chosen = {v.strip().lower() for v in values if v.strip()}
    unknown = sorted(chosen - set(GRANULARITIES))
    if unknown:
        raise InvalidInput(
            f"timestamp_granularities {unknown} are not supported; use segment and/or word",
            field="timestamp_granularities[]",
            supported=list(GRANULARITIES),
        )
    return chosen


def _temperature(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(
            f"temperature must be a number, got {value!r}", field="temperature"
        ) from None


def _headers(result: TranscriptionResult) -> dict[str, str]:
    return {
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Backend": result.backend,
        "X-Processing-Time-Ms": str(round(result.processing_s * 1000)),
    }
