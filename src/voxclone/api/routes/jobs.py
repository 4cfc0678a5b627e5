from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.history_schemas import JobPagePublic
from voxclone.api.schemas import JobPublic
from voxclone.core.errors import JobNotReady
from voxclone.core.types import JobKind, JobStatus
from voxclone.db.tables import Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def _public(request: Request, job: Job) -> JobPublic:
    return JobPublic.of(
        job,
        audio_url=str(request.url_for("job_audio", job_id=job.id)),
        result_url=str(request.url_for("job_result", job_id=job.id)),
    )


@router.get("", response_model=JobPagePublic)
async def list_jobs(
    request: Request,
    services: ServicesDep,
    user: UserKey,
    kind: str | None = Query(None, description="synthesize, fit, biometrics…"),
    status: str | None = Query(None, description="pending, running, ready, failed, cancelled"),
    limit: int = Query(50, ge=1, le=100),
    cursor: str | None = None,
) -> JobPagePublic:
    """The key's jobs, newest first."""
    assert user.key_id is not None
    jobs, next_cursor = await services.jobs.page(
        key_id=user.key_id, limit=limit, kind=kind, status=status, cursor=cursor
    )
    return JobPagePublic(
        jobs=[_public(request, job) for job in jobs],
        has_more=next_cursor is not None,
        next_cursor=next_cursor,
    )


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: str, request: Request, services: ServicesDep, user: UserKey) -> JobPublic:
    assert user.key_id is not None
    job = await services.jobs.get(key_id=user.key_id, job_id=job_id)
    return _public(request, job)


@router.get("/{job_id}/audio", name="job_audio")
async def job_audio(job_id: str, services: ServicesDep, user: UserKey) -> StreamingResponse:
    assert user.key_id is not None
    audio = await services.jobs.audio(key_id=user.key_id, job_id=job_id)
    headers = {"X-Job-Id": job_id, "Content-Length": str(audio.size)}
    if audio.duration_s is not None:
        headers["X-Audio-Duration"] = f"{audio.duration_s:.3f}"
    return StreamingResponse(audio.chunks, media_type=audio.media_type, headers=headers)


@router.get(
    "/{job_id}/result",
    name="job_result",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/plain": {},
                "text/vtt": {},
                "audio/wav": {},
            }
        }
    },
)
async def job_result(job_id: str, services: ServicesDep, user: UserKey) -> Response:
    """What a ready job made: a transcription's answer as the route that queued it would have
    given it (its ``response_format``, and ``X-Audio-Duration``, ``X-Backend``,
    ``X-Processing-Time-Ms``), the audio of a job that made audio (as ``/audio``), or another
    job's ``result`` JSON. 404 ``job_not_ready`` before the job is ready."""
    assert user.key_id is not None
    job = await services.jobs.get(key_id=user.key_id, job_id=job_id)
    if job.kind == JobKind.TRANSCRIBE:
        stored = await services.speech_jobs.transcript(key_id=user.key_id, job_id=job.id)
        headers = {
            "X-Job-Id": job.id,
            "X-Audio-Duration": f"{stored.duration_s:.3f}",
            "X-Backend": stored.backend,
            "X-Processing-Time-Ms": str(stored.processing_ms),
        }
        return Response(stored.content, media_type=stored.media_type, headers=headers)
    if job.audio_key is not None:
        return await job_audio(job.id, services, user)
    if job.status != JobStatus.READY:
        raise JobNotReady(
            f"job {job.id} has no result: its status is {job.status}",
            job_id=job.id,
            status=job.status,
        )
    return JSONResponse(job.result or {}, headers={"X-Job-Id": job.id})


@router.delete("/{job_id}", response_model=JobPublic)
async def cancel_job(
    job_id: str, request: Request, services: ServicesDep, user: UserKey
) -> JobPublic:
    assert user.key_id is not None
    job = await services.jobs.cancel(key_id=user.key_id, job_id=job_id)
    return _public(request, job)
