"""What a webhook says: the job's JSON (the shape of ``GET /v1/jobs/{id}``), and the delivery
log as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pydantic_core

from voxclone.core.types import JobStatus
from voxclone.db.tables import Job, WebhookAttempt, WebhookDelivery

EVENTS = {
    JobStatus.READY.value: "job.ready",
    JobStatus.FAILED.value: "job.failed",
    JobStatus.CANCELLED.value: "job.cancelled",
}


def event_for(status: str) -> str:
    """``job.ready``, ``job.failed`` or ``job.cancelled`` (ValueError for an unfinished job)."""
    try:
        return EVENTS[status]
    except KeyError:
        raise ValueError(f"a job with status {status!r} has not ended") from None


def job_payload(job: Job, *, public_url: str | None = None) -> bytes:
    """The job as ``GET /v1/jobs/{id}`` shows it (``api.schemas.JobPublic``), as JSON bytes;
    ``audio_url`` is absolute when this server's ``public_url`` is known, else a path."""
    audio_url = None
    result_url = None
    if job.status == JobStatus.READY:
        result_url = f"{(public_url or '').rstrip('/')}/v1/jobs/{job.id}/result"
        if job.audio_key is not None:
            audio_url = f"{(public_url or '').rstrip('/')}/v1/jobs/{job.id}/audio"
    return pydantic_core.to_json(
        {
            "job_id": job.id,
            "kind": job.kind,
            "status": job.status,
            "progress": job.progress,
            "attempt": job.attempts,
            "voice_id": job.voice_id or job.params.get("voice"),
            "backend": job.params.get("backend"),
            "audio_url": audio_url,
            "result_url": result_url,
            "audio_duration_s": job.audio_duration_s,
            "error": job.error,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "completed_at": job.completed_at,
            "result": job.result,
        }
    )


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery_id: str
    url: str
    event: str
    status: str
    """pending, delivered or failed (given up)."""
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def delivery_view(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryView:
    return DeliveryView(
        delivery_id=delivery.id,
        url=delivery.url,
        event=delivery.event,
        status=delivery.status,
        attempts=[
            AttemptView(
                attempt=a.attempt,
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )
