"""A finished transcription (or translation) as the HTTP answer its ``response_format`` asks
for, with voxclone's headers; with a diarization, speakers in the segments and captions."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse, PlainTextResponse

from voxclone.services.diarization import Diarization
from voxclone.services.transcript_formats import (
    to_json,
    to_srt,
    to_text,
    to_verbose_json,
    to_vtt,
)
from voxclone.services.transcription import TranscriptionResult


def stt_headers(result: TranscriptionResult) -> dict[str, str]:
    return {
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Backend": result.backend,
        "X-Processing-Time-Ms": str(round(result.processing_s * 1000)),
    }


def formatted(
    result: TranscriptionResult,
    response_format: str,
    granularities: set[str],
    *,
    task: str,
    diarization: Diarization | None = None,
) -> Response:
    headers = stt_headers(result)
    transcript = result.transcript
    labels = diarization.labels if diarization is not None else None
    if response_format == "text":
        return PlainTextResponse(to_text(transcript), headers=headers)
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript, labels), headers=headers)
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript, labels), media_type="text/vtt", headers=headers)
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
        return JSONResponse(body, headers=headers)
    return JSONResponse(to_json(transcript), headers=headers)


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
