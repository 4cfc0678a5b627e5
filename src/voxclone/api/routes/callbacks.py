"""``POST /v1/jobs/{job_id}/complete``: a callback engine's worker hands back a job's audio.

Not for clients: the worker presents the job's own secret (``Authorization: Bearer``), sent to
it in the trigger. The body is afterwords' ``{"job_id", "voice_id", "cache_key", "wav_b64",
"error"}``; ``audio_b64`` is read as ``wav_b64`` (any of WAV, FLAC, OGG, MP3). Answers
``{"status": "ready" | "failed" | "ignored"}``: ignored when the job had already ended.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from voxclone.api.deps import ServicesDep, presented_key
from voxclone.services.callbacks import Completion

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


class CompleteBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str | None = Field(None, description="Must be the job of the URL when given.")
    voice_id: str | None = Field(None, description="Sent by afterwords' workers; not used.")
    cache_key: str | None = Field(
        None, description="Not used: the job's own cache key is where the audio is cached."
    )
    wav_b64: str | None = Field(None, description="The audio file, base64.")
    audio_b64: str | None = Field(None, description="Another name for wav_b64.")
    error: str | None = Field(None, description="Why the worker could not render the job.")


class CompleteReply(BaseModel):
    status: str = Field(description="ready, failed, or ignored (the job had already ended).")


@router.post("/{job_id}/complete", response_model=CompleteReply)
async def complete_job(
    job_id: str, body: CompleteBody, request: Request, services: ServicesDep
) -> CompleteReply:
    """A callback engine's completion of a job (401 without the job's secret; 422 with
    unusable audio, which fails the job)."""
    outcome = await services.callbacks.complete(
        job_id=job_id,
        secret=presented_key(request),
        completion=Completion(
            job_id=body.job_id,
            audio_b64=body.wav_b64 or body.audio_b64,
            error=body.error,
        ),
    )
    return CompleteReply(status=outcome)
