"""ElevenLabs' speech to text (``POST /v1/speech-to-text``) over ``TranscriptionService``:
multipart ``file``, ``model_id`` (``scribe_*``: the default engine; or an STT engine's name),
``language_code``, ``timestamps_granularity`` (``word``, the default, or ``none``; ``character``
is served as ``word``). Diarization, audio events and the rest are accepted and ignored."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, text_field
from voxclone.core.errors import AudioTooLarge, InvalidInput, MissingField
from voxclone.core.types import new_id
from voxclone.engines.base import Transcript
from voxclone.services.transcription import TranscriptionRequest
from voxclone.services.usage import UsageRecord

router = APIRouter(tags=["elevenlabs"])


@router.post("/v1/speech-to-text")
async def speech_to_text(request: Request, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    assert user.key_id is not None
    stt = services.transcription
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field="file",
    )
    try:
        if text_field(form, "cloud_storage_url") or text_field(form, "source_url"):
            raise InvalidInput("send the audio as file; URLs are not fetched", field="file")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise MissingField("file is required: the audio to transcribe", field="file")
        data = await upload.read()
        model = (text_field(form, "model_id") or "").strip()
        granularity = (text_field(form, "timestamps_granularity") or "word").strip().lower()
        transcribe = TranscriptionRequest(
            backend=None
            if not model or model.startswith("scribe")
            else stt.backend_for_model(model),
            language=(text_field(form, "language_code") or "").strip() or None,
            word_timestamps=granularity != "none",
        )
    finally:
        await form.close()
    result = await stt.transcribe(data=data, request=transcribe)
    services.metrics.note_engine_call(engine=result.backend, wall_s=result.processing_s)
    await services.recorder.record_usage(
        UsageRecord(
            key_id=user.key_id,
            kind="stt",
            entry="elevenlabs",
            backend=result.backend,
            audio_in_s=result.duration_s,
        )
    )
    transcript = result.transcript
    return {
        "language_code": transcript.language or "",
        "language_probability": 1.0 if transcript.language else 0.0,
        "text": transcript.text.strip(),
        "words": words_of(transcript),
        "transcription_id": new_id(),
        "audio_duration_secs": result.duration_s,
    }


def words_of(transcript: Transcript) -> list[dict[str, Any]]:
    """ElevenLabs' ``words``: each word, and a ``spacing`` between words."""
    words: list[dict[str, Any]] = []
    for segment in transcript.segments:
        for word in segment.words:
            text = word.word.strip()
            if not text:
                continue
            if words:
                gap_start = words[-1]["end"]
                words.append(
                    {
                        "text": " ",
                        "start": gap_start,
                        "end": word.start_s,
                        "type": "spacing",
                        "logprob": 0.0,
                    }
                )
            words.append(
                {
                    "text": text,
                    "start": word.start_s,
                    "end": word.end_s,
                    "type": "word",
                    "logprob": _logprob(word.probability),
                }
            )
    return words


def _logprob(probability: float | None) -> float:
    if probability is None or probability <= 0:
        return 0.0
    return math.log(probability)
