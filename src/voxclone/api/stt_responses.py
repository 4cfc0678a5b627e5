"""A finished transcription (or translation) as the HTTP answer its ``response_format`` asks
for, with voxclone's headers; with a diarization, speakers in the segments and captions."""

from __future__ import annotations

from fastapi import Response

from voxclone.services.diarization import Diarization
from voxclone.services.transcript_bodies import transcript_body
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
    body = transcript_body(
        result, response_format, granularities, task=task, diarization=diarization
    )
    return Response(body.encoded(), media_type=body.media_type, headers=stt_headers(result))
