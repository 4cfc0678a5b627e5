"""A finished transcription as the body its caller asked for: one of OpenAI's
``response_format`` values (with speakers when it was diarized), or the provider spec's JSON.

Built here, below the API, so that a transcription run as a job stores exactly the bytes the
synchronous route would have answered with.
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from voxclone.services.diarization import Diarization
from voxclone.services.transcript_formats import (
    to_json,
    to_srt,
    to_text,
    to_verbose_json,
    to_vtt,
)
from voxclone.services.transcription import TranscriptionResult

PROVIDER_FORMAT = "provider"
"""The provider spec's ``/v1/transcribe`` body, beside OpenAI's response formats."""
MEDIA_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain",
    "srt": "text/plain",
    "vtt": "text/vtt",
    PROVIDER_FORMAT: "application/json",
}


@dataclass(frozen=True, slots=True)
class TranscriptBody:
    content: str | dict[str, Any]
    """Text for text, srt and vtt; a JSON object for the others."""
    media_type: str

    def encoded(self) -> bytes:
        """The bytes an HTTP answer carries (JSON as Starlette's ``JSONResponse`` writes it)."""
        if isinstance(self.content, str):
            return self.content.encode("utf-8")
        return json.dumps(
            self.content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


def transcript_body(
    result: TranscriptionResult,
    response_format: str,
    granularities: Set[str],
    *,
    task: str,
    diarization: Diarization | None = None,
) -> TranscriptBody:
    transcript = result.transcript
    labels = diarization.labels if diarization is not None else None
    if response_format == PROVIDER_FORMAT:
        return TranscriptBody(provider_json(result), MEDIA_TYPES[response_format])
    if response_format == "text":
        return TranscriptBody(to_text(transcript), MEDIA_TYPES[response_format])
    if response_format == "srt":
        return TranscriptBody(to_srt(transcript, labels), MEDIA_TYPES[response_format])
    if response_format == "vtt":
        return TranscriptBody(to_vtt(transcript, labels), MEDIA_TYPES[response_format])
    if response_format == "verbose_json":
        body = to_verbose_json(
            transcript,
            duration_s=result.duration_s,
            words="word" in granularities,
            segments=not granularities or "segment" in granularities or diarization is not None,
            task=task,
        )
        if diarization is not None:
            _add_speakers(body, diarization)
        return TranscriptBody(body, MEDIA_TYPES[response_format])
    return TranscriptBody(to_json(transcript), MEDIA_TYPES["json"])


def provider_json(result: TranscriptionResult) -> dict[str, Any]:
    """``{"text", "language", "duration", "segments": [{"id", "start", "end", "text"}]}``."""
    return {
        "text": result.transcript.text,
        "language": result.transcript.language,
        "duration": result.duration_s,
        "segments": [
            {"id": i, "start": s.start_s, "end": s.end_s, "text": s.text}
            for i, s in enumerate(result.transcript.segments)
        ],
    }


def _add_speakers(body: dict[str, Any], diarization: Diarization) -> None:
    """``speaker`` (a label: an enrolled speaker's name, else ``A``, ``B``…) and ``speaker_id``
    on each segment, and the ``speakers`` found, most speech first."""
    ids = {s.label: s.speaker_id for s in diarization.speakers}
    for segment, label in zip(body["segments"], diarization.labels, strict=True):
        segment["speaker"] = label
        segment["speaker_id"] = ids.get(label) if label is not None else None
    body["speakers"] = [
        {
            "speaker": s.label,
            "speaker_id": s.speaker_id,
            "name": s.name,
            "score": s.score,
            "speech_s": s.speech_s,
            "segments": s.segments,
        }
        for s in diarization.speakers
    ]
