"""Work answered as a job instead of inline: RFC 7240's ``Prefer: respond-async`` and the
``202 Accepted`` answer that names the job to poll."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from voxclone.api.schemas import JobPublic
from voxclone.db.tables import Job

RESPOND_ASYNC = "respond-async"

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Queued as a job (the audio is longer than "
        "limits.max_sync_speech_audio_s, or the client sent Prefer: respond-async): poll "
        "Location (GET /v1/jobs/{job_id}), then fetch GET /v1/jobs/{job_id}/result.",
        "model": JobPublic,
    }
}
"""The OpenAPI entry of a route that may answer with a job."""


def prefers_async(request: Request) -> bool:
    """Whether ``Prefer`` holds ``respond-async`` (a comma-separated list of preferences, each
    maybe with parameters after ``;`` or a value after ``=``; names are case-insensitive)."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            name = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if name == RESPOND_ASYNC:
                return True
    return False


def accepted(request: Request, job: Job) -> JSONResponse:
    """202 with the job as ``GET /v1/jobs/{id}`` shows it, ``Location`` to poll, and
    ``Preference-Applied`` when the client asked for an asynchronous answer."""
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if prefers_async(request):
        headers["Preference-Applied"] = RESPOND_ASYNC
    body = JobPublic.of(job, audio_url=None)
    return JSONResponse(body.model_dump(mode="json"), status_code=202, headers=headers)
