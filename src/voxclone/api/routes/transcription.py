"""Speech to text over HTTP: OpenAI's ``/v1/audio/transcriptions`` (with ``stream=true`` as
server-sent events) and ``/v1/audio/translations``, and the provider spec's ``/v1/transcribe``,
all on the STT engines of the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData, UploadFile

from voxclone.api.async_jobs import ACCEPTED, accepted, prefers_async
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.sse import sse_response
from voxclone.api.stt_responses import formatted
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import (
    AudioTooLarge,
    AudioTooLongForSync,
    InvalidAudio,
    InvalidInput,
    MissingField,
)
from voxclone.services.diarization import Diarization, diarize
from voxclone.services.keys import Principal
from voxclone.services.speech_jobs import TranscriptionJob
from voxclone.services.transcript_bodies import PROVIDER_FORMAT
from voxclone.services.transcript_formats import RESPONSE_FORMATS
from voxclone.services.transcription import (
    PreparedTranscription,
    TranscriptionRequest,
    TranscriptionResult,
)
from voxclone.services.transcription_stream import TextDelta, stream_transcription
from voxclone.services.usage import UsageRecord

router = APIRouter(tags=["speech-to-text"])

GRANULARITIES = ("segment", "word")
STREAM_RESPONSE_FORMATS = ("json", "text")
"""The formats a streamed transcription can have: its events carry plain text."""
DIARIZE_RESPONSE_FORMATS = ("verbose_json", "srt", "vtt")
"""The formats with segments, which a diarization labels."""


@router.post(
    "/v1/audio/transcriptions",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/plain": {},
                "text/vtt": {},
                "text/event-stream": {},
            }
        },
        **ACCEPTED,
    },
)
async def create_transcription(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """OpenAI-compatible. Multipart: ``file``, ``model`` (``whisper-1`` or an STT engine name),
    ``language``, ``prompt``, ``response_format`` (json, text, srt, vtt, verbose_json),
    ``temperature``, ``timestamp_granularities[]`` (segment, word; with verbose_json; ``words``
    at the top level as OpenAI returns them), ``stream`` (true: server-sent events
    ``transcript.text.delta`` per decoded segment, then ``transcript.text.done``; json or text
    only), ``diarize`` (true: each segment labelled with its speaker, an enrolled speaker's name
    where the voice matches one, else A, B…; verbose_json, srt or vtt).

    Audio longer than ``limits.max_sync_speech_audio_s`` gets 413 ``audio_too_long_for_sync``
    (OpenAI's clients cannot take a job), unless the request carries ``Prefer:
    respond-async``: then, at any length, 202 with a job (``callback_url`` is told when it
    ends); its result is the body this route would have answered (json for a stream)."""
    stt = services.transcription
    form = await _read(request, services, field="file")
    try:
        backend = stt.backend_for_model(text_field(form, "model"))
        response_format = _response_format(form)
        granularities = _granularities(form)
        stream = _flag(text_field(form, "stream"), field="stream")
        diarize = _flag(text_field(form, "diarize"), field="diarize")
        if diarize and response_format not in DIARIZE_RESPONSE_FORMATS:
            raise InvalidInput(
                f"response_format {response_format!r} has no segments to label; with "
                f"diarize=true use {', '.join(DIARIZE_RESPONSE_FORMATS)}",
                field="diarize",
                supported=list(DIARIZE_RESPONSE_FORMATS),
            )
        if stream and response_format not in STREAM_RESPONSE_FORMATS:
            raise InvalidInput(
                f"response_format {response_format!r} cannot be streamed; with stream=true use "
                f"{' or '.join(STREAM_RESPONSE_FORMATS)}",
                field="stream",
                supported=list(STREAM_RESPONSE_FORMATS),
            )
        transcribe = TranscriptionRequest(
            backend=backend,
            language=text_field(form, "language") or None,
            prompt=text_field(form, "prompt") or None,
            temperature=_temperature(text_field(form, "temperature")),
            word_timestamps=response_format == "verbose_json" and "word" in granularities,
        )
        stt.check_request(transcribe)
        data = await _file(form, "file")
        callback_url = text_field(form, "callback_url") or None
    finally:
        await form.close()
    if await _as_job(request, services, data, path="/v1/audio/transcriptions"):
        asked = TranscriptionJob(
            request=transcribe,
            response_format=response_format,
            entry="openai",
            granularities=frozenset(granularities),
            diarize=diarize,
        )
        return await _submit(request, services, user, data, asked, callback_url)
    prepared = stt.prepare(data=data, request=transcribe)  # refusals before any event
    if stream:
        return sse_response(_events(services, user, prepared), headers={"X-Backend": backend})
    async with services.admission.heavy.hold(user.key_id, work="transcription"):
        result = await stt.run(prepared)
    diarization = await _diarized(services, user, prepared, result) if diarize else None
    await _meter(services, user, result, entry="openai")
    return formatted(
        result, response_format, granularities, task="transcribe", diarization=diarization
    )


@router.post(
    "/v1/audio/translations",
    responses={
        200: {"content": {"application/json": {}, "text/plain": {}, "text/vtt": {}}},
        **ACCEPTED,
    },
)
async def create_translation(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """OpenAI-compatible: speech in any language as English text (Whisper's translate task).
    Multipart: ``file``, ``model`` (``whisper-1`` or an STT engine name), ``prompt`` (in
    English), ``response_format`` (json, text, srt, vtt, verbose_json), ``temperature``. Needs a
    multilingual model: an English-only one is refused with 422 ``unsupported_language``.
    Audio longer than ``limits.max_sync_speech_audio_s``: 413, or a job with ``Prefer:
    respond-async``, as for transcriptions."""
    stt = services.transcription
    form = await _read(request, services, field="file")
    try:
        backend = stt.backend_for_model(text_field(form, "model"))
        response_format = _response_format(form)
        translate = TranscriptionRequest(
            backend=backend,
            prompt=text_field(form, "prompt") or None,
            temperature=_temperature(text_field(form, "temperature")),
            task="translate",
        )
        stt.check_request(translate)
        data = await _file(form, "file")
        callback_url = text_field(form, "callback_url") or None
    finally:
        await form.close()
    if await _as_job(request, services, data, path="/v1/audio/translations"):
        asked = TranscriptionJob(request=translate, response_format=response_format, entry="openai")
        return await _submit(request, services, user, data, asked, callback_url)
    prepared = stt.prepare(data=data, request=translate)
    async with services.admission.heavy.hold(user.key_id, work="translation"):
        result = await stt.run(prepared)
    await _meter(services, user, result, entry="openai")
    return formatted(result, response_format, set(), task="translate")


async def _diarized(
    services: ServicesDep,
    user: Principal,
    prepared: PreparedTranscription,
    result: TranscriptionResult,
) -> Diarization:
    assert user.key_id is not None
    biometrics = services.biometrics
    embedder, enrolled = await biometrics.enrolled_prints(key_id=user.key_id)
    return await diarize(
        prepared.audio,
        result.transcript.segments,
        embedder=embedder,
        enrolled=enrolled,
        match_threshold=biometrics.settings.threshold,
    )


async def _events(
    services: ServicesDep, user: Principal, prepared: PreparedTranscription
) -> AsyncIterator[dict[str, Any]]:
    """OpenAI's transcription stream events; metered once the whole transcript is done."""
    async for item in stream_transcription(services.transcription, prepared):
        if isinstance(item, TextDelta):
            yield {"type": "transcript.text.delta", "delta": item.text}
            continue
        await _meter(services, user, item, entry="openai")
        yield {"type": "transcript.text.done", "text": item.transcript.text}


@router.post("/v1/transcribe", responses={**ACCEPTED})
async def transcribe(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """The provider spec's shape: multipart ``audio``, ``language`` (and voxclone's optional
    ``backend``) → ``{"text", "language", "duration", "segments": [{"id", "start", "end",
    "text"}]}``. Audio longer than ``limits.max_sync_speech_audio_s`` (or any, with ``Prefer:
    respond-async``) is run as a job: 202, and that body from ``GET /v1/jobs/{id}/result``
    once it is ready (``callback_url``, if given, is told when it ends)."""
    stt = services.transcription
    form = await _read(request, services, field="audio")
    try:
        backend = text_field(form, "backend") or None
        transcribe_request = TranscriptionRequest(
            backend=stt.backend_for_model(backend) if backend else None,
            language=text_field(form, "language") or None,
        )
        data = await _file(form, "audio")
        callback_url = text_field(form, "callback_url") or None
    finally:
        await form.close()
    if await _as_job(request, services, data, path="/v1/transcribe"):
        asked = TranscriptionJob(
            request=transcribe_request, response_format=PROVIDER_FORMAT, entry="transcribe"
        )
        return await _submit(request, services, user, data, asked, callback_url)
    async with services.admission.heavy.hold(user.key_id, work="transcription"):
        result = await stt.transcribe(data=data, request=transcribe_request)
    await _meter(services, user, result, entry="transcribe")
    return formatted(result, PROVIDER_FORMAT, set(), task="transcribe")


async def _as_job(request: Request, services: ServicesDep, data: bytes, *, path: str) -> bool:
    """Whether to run the upload as a job: when the client prefers it, or when the audio is
    longer than a synchronous call takes. OpenAI's routes refuse such audio unless the client
    prefers a job (the ``openai`` SDK cannot poll one): 413 naming the limit and the way."""
    too_long_s = await services.speech_jobs.too_long_for_sync(data)
    if prefers_async(request):
        return True
    if too_long_s is None:
        return False
    if path == "/v1/transcribe":
        return True
    limit = services.speech_jobs.max_sync_s
    ways = "send the header 'Prefer: respond-async' to have it run as a job here (202)"
    details: dict[str, Any] = {}
    if path == "/v1/audio/transcriptions":  # a translation has no other route
        ways = f"send it to POST /v1/transcribe, which answers 202 with a job to poll, or {ways}"
        details["use"] = "/v1/transcribe"
    raise AudioTooLongForSync(
        f"the audio is longer than {limit:g} s, the most {path} transcribes inside one request "
        f"(limits.max_sync_speech_audio_s); {ways}",
        duration_s=round(too_long_s, 3),
        max_sync_s=limit,
        limit="limits.max_sync_speech_audio_s",
        prefer="respond-async",
        **details,
    )


async def _submit(
    request: Request,
    services: ServicesDep,
    user: Principal,
    data: bytes,
    asked: TranscriptionJob,
    callback_url: str | None,
) -> Response:
    assert user.key_id is not None
    await services.admission.admit_job(user)
    job = await services.speech_jobs.submit_transcription(
        key_id=user.key_id,
        data=data,
        job=asked,
        callback_url=await services.webhooks.check_callback_url(callback_url),
    )
    return accepted(request, job)


async def _meter(
    services: ServicesDep, user: Principal, result: TranscriptionResult, *, entry: str
) -> None:
    """Record a transcription that succeeded: the seconds of audio it heard."""
    assert user.key_id is not None
    services.metrics.note_engine_call(engine=result.backend, wall_s=result.processing_s)
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


def _response_format(form: FormData) -> str:
    response_format = (text_field(form, "response_format") or "json").strip().lower()
    if response_format not in RESPONSE_FORMATS:
        raise InvalidInput(
            f"response_format {response_format!r} is not one of {', '.join(RESPONSE_FORMATS)}",
            field="response_format",
            supported=list(RESPONSE_FORMATS),
        )
    return response_format


def _flag(value: str | None, *, field: str) -> bool:
    if value is None or not value.strip():
        return False
    text = value.strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise InvalidInput(f"{field} must be true or false, got {value!r}", field=field)
    return text in ("true", "1")


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
