"""Voice biometrics: speakers, enrollments, verify, identify, and who-speaks-when jobs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import (
    INT32_MAX,
    CandidatePublic,
    EnrollmentCreated,
    EnrollmentPublic,
    IdentifyResult,
    JobPublic,
    SpeakerCreate,
    SpeakerPublic,
    VerifyResult,
)
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import AudioTooLarge, InvalidAudio, InvalidInput, MissingField
from voxclone.services.container import Services

router = APIRouter(prefix="/v1/speakers", tags=["biometrics"])
jobs_router = APIRouter(prefix="/v1/biometrics", tags=["biometrics"])

AUDIO_FIELD = "audio"


async def _audio_form(request: Request, *, max_bytes: int) -> FormData:
    return await read_form(
        request, max_file_bytes=max_bytes, too_large=AudioTooLarge, field=AUDIO_FIELD
    )


async def _required_audio(form: FormData) -> bytes:
    if AUDIO_FIELD not in form:
        raise MissingField(
            "audio is required (a WAV, MP3, FLAC or OGG file with speech)", field=AUDIO_FIELD
        )
    audio = await read_upload(form, AUDIO_FIELD)
    if audio is None:
        raise InvalidAudio("audio must be a file upload, not a text field", field=AUDIO_FIELD)
    return audio


def _number(form: FormData, field: str) -> float | None:
    value = text_field(form, field)
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a number, got {value!r}", field=field) from None


def _clip_limit(services: Services) -> int:
    return services.settings.biometrics.max_clip_bytes


@router.post("", status_code=201, response_model=SpeakerPublic)
async def create_speaker(request: Request, services: ServicesDep, user: UserKey) -> SpeakerPublic:
    """JSON ``{name, meta}``, or a form with name, meta (a JSON object) and optionally audio
    (enrolled at once)."""
    assert user.key_id is not None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await _audio_form(request, max_bytes=_clip_limit(services))
        try:
            audio = await _required_audio(form) if AUDIO_FIELD in form else None
            speaker = await services.biometrics.create_speaker(
                key_id=user.key_id,
                name=text_field(form, "name"),
                meta=_form_meta(text_field(form, "meta")),
                audio=audio,
            )
        finally:
            await form.close()
        return SpeakerPublic.of(speaker)
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = await request.form()
        speaker = await services.biometrics.create_speaker(
            key_id=user.key_id,
            name=text_field(fields, "name"),
            meta=_form_meta(text_field(fields, "meta")),
        )
        return SpeakerPublic.of(speaker)
    body = await _json_body(request)
    speaker = await services.biometrics.create_speaker(
        key_id=user.key_id, name=body.name, meta=body.meta
    )
    return SpeakerPublic.of(speaker)


async def _json_body(request: Request) -> SpeakerCreate:
    raw = await request.body()
    if not raw:
        raise MissingField("name is required", field="name")
    try:
        return SpeakerCreate.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        missing = [e["loc"][0] for e in exc.errors() if e["type"] == "missing" and e["loc"]]
        if missing:
            raise MissingField(
                f"missing required field(s): {', '.join(map(str, missing))}"
            ) from None
        raise InvalidInput(f"invalid speaker: {problems}") from None


def _form_meta(value: str | None) -> dict[str, Any] | None:
    if value is None or not value.strip():
        return None
    try:
        meta = json.loads(value)
    except json.JSONDecodeError:
        raise InvalidInput("meta must be a JSON object", field="meta") from None
    if not isinstance(meta, dict):
        raise InvalidInput("meta must be a JSON object", field="meta")
    return meta


@router.get("", response_model=list[SpeakerPublic])
async def list_speakers(
    services: ServicesDep,
    user: UserKey,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT32_MAX),
) -> list[SpeakerPublic]:
    assert user.key_id is not None
    speakers = await services.biometrics.list_speakers(
        key_id=user.key_id, limit=limit, offset=offset
    )
    return [SpeakerPublic.of(s) for s in speakers]


@router.post("/identify", response_model=IdentifyResult)
async def identify(request: Request, services: ServicesDep, user: UserKey) -> IdentifyResult:
    """Multipart: audio, optional top_k (default 5) and threshold."""
    assert user.key_id is not None
    form = await _audio_form(request, max_bytes=_clip_limit(services))
    try:
        top_k = _number(form, "top_k")
        if top_k is not None and not top_k.is_integer():
            raise InvalidInput(f"top_k must be a whole number, got {top_k}", field="top_k")
        found = await services.biometrics.identify(
            key_id=user.key_id,
            audio=await _required_audio(form),
            top_k=int(top_k) if top_k is not None else 5,
            threshold=_number(form, "threshold"),
        )
    finally:
        await form.close()
    return IdentifyResult(
        candidates=[
            CandidatePublic(speaker_id=c.speaker_id, name=c.name, score=c.score)
            for c in found.candidates
        ],
        threshold=found.threshold,
        speech_s=found.speech_s,
    )


@router.get("/{speaker_id}", response_model=SpeakerPublic)
async def get_speaker(speaker_id: str, services: ServicesDep, user: UserKey) -> SpeakerPublic:
    assert user.key_id is not None
    return SpeakerPublic.of(
        await services.biometrics.get(key_id=user.key_id, speaker_id=speaker_id)
    )


@router.delete("/{speaker_id}", status_code=204)
async def delete_speaker(speaker_id: str, services: ServicesDep, user: UserKey) -> Response:
    assert user.key_id is not None
    await services.biometrics.delete(key_id=user.key_id, speaker_id=speaker_id)
    return Response(status_code=204)


@router.post("/{speaker_id}/enrollments", status_code=201, response_model=EnrollmentCreated)
async def enroll(
    speaker_id: str, request: Request, services: ServicesDep, user: UserKey
) -> EnrollmentCreated:
    """Multipart: audio (at least ``biometrics.min_speech_s`` of speech)."""
    assert user.key_id is not None
    form = await _audio_form(request, max_bytes=_clip_limit(services))
    try:
        speaker, enrollment = await services.biometrics.enroll(
            key_id=user.key_id, speaker_id=speaker_id, audio=await _required_audio(form)
        )
    finally:
        await form.close()
    return EnrollmentCreated(
        enrollment=EnrollmentPublic.of(enrollment), speaker=SpeakerPublic.of(speaker)
    )


@router.get("/{speaker_id}/enrollments", response_model=list[EnrollmentPublic])
async def list_enrollments(
    speaker_id: str, services: ServicesDep, user: UserKey
) -> list[EnrollmentPublic]:
    assert user.key_id is not None
    found = await services.biometrics.enrollments(key_id=user.key_id, speaker_id=speaker_id)
    return [EnrollmentPublic.of(e) for e in found]


@router.delete("/{speaker_id}/enrollments/{enrollment_id}", response_model=SpeakerPublic)
async def delete_enrollment(
    speaker_id: str, enrollment_id: str, services: ServicesDep, user: UserKey
) -> SpeakerPublic:
    """Remove one enrollment; returns the speaker with its print recomputed."""
    assert user.key_id is not None
    speaker = await services.biometrics.delete_enrollment(
        key_id=user.key_id, speaker_id=speaker_id, enrollment_id=enrollment_id
    )
    return SpeakerPublic.of(speaker)


@router.post("/{speaker_id}/verify", response_model=VerifyResult)
async def verify(
    speaker_id: str, request: Request, services: ServicesDep, user: UserKey
) -> VerifyResult:
    """Multipart: audio, optional threshold (default ``biometrics.threshold``)."""
    assert user.key_id is not None
    await services.biometrics.get(key_id=user.key_id, speaker_id=speaker_id)  # 400/404 first
    form = await _audio_form(request, max_bytes=_clip_limit(services))
    try:
        result = await services.biometrics.verify(
            key_id=user.key_id,
            speaker_id=speaker_id,
            audio=await _required_audio(form),
            threshold=_number(form, "threshold"),
        )
    finally:
        await form.close()
    return VerifyResult(
        speaker_id=result.speaker_id,
        score=result.score,
        match=result.match,
        threshold=result.threshold,
        speech_s=result.speech_s,
    )


@jobs_router.post("/jobs", status_code=202, response_model=JobPublic)
async def submit_job(request: Request, services: ServicesDep, user: UserKey) -> JSONResponse:
    """Multipart: audio (a longer recording), optional speaker_ids (comma-separated or
    repeated), threshold and callback_url (told, signed, when the job ends). Poll
    ``GET /v1/jobs/{job_id}``: its ``result`` lists segments. 429 when the key already has as
    many jobs pending or running as it may."""
    assert user.key_id is not None
    await services.admission.admit_job(user)
    form = await _audio_form(request, max_bytes=services.settings.limits.max_speech_upload_bytes)
    try:
        ids = [
            part.strip()
            for value in form.getlist("speaker_ids")
            if isinstance(value, str)
            for part in value.split(",")
            if part.strip()
        ]
        job = await services.speaker_jobs.submit(
            key_id=user.key_id,
            audio=await _required_audio(form),
            speaker_ids=ids or None,
            threshold=_number(form, "threshold"),
            callback_url=await services.webhooks.check_callback_url(
                text_field(form, "callback_url") or None
            ),
        )
    finally:
        await form.close()
    body = JobPublic.of(job, audio_url=None)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/jobs/{job.id}"},
    )
