"""Voice biometrics: speakers, enrollment, verification, identification, diarization jobs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.models import JobQueued, Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op

BASE = "/v1/speakers"


class Speaker(Model):
    speaker_id: str
    name: str
    meta: dict[str, Any] = {}
    enrolled: bool
    enrollment_count: int
    speech_s: float
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Enrollment(Model):
    enrollment_id: str
    speaker_id: str
    duration_s: float
    speech_s: float
    created_at: datetime | None = None


class EnrollmentCreated(Model):
    enrollment: Enrollment
    speaker: Speaker


class Verification(Model):
    speaker_id: str
    score: float
    match: bool
    threshold: float
    speech_s: float


class Candidate(Model):
    speaker_id: str
    name: str
    score: float


class Identification(Model):
    candidates: list[Candidate]
    threshold: float
    speech_s: float


def create(
    name: str, *, meta: dict[str, Any] | None = None, audio: FileInput | None = None
) -> Op[Speaker]:
    """A speaker; with ``audio``, enrolled at once."""
    if audio is None:
        call = Call("POST", BASE, json={"name": name, "meta": meta})
    else:
        fields = c.form(name=name, meta=json.dumps(meta) if meta is not None else None)
        call = Call("POST", BASE, data=fields, files={"audio": c.upload(audio)}, timeout=300)
    return c.model(call, Speaker)


def list_(*, limit: int | None = None, offset: int | None = None) -> Op[list[Speaker]]:
    return c.models(Call("GET", BASE, params={"limit": limit, "offset": offset}), Speaker)


def get(speaker_id: str) -> Op[Speaker]:
    return c.model(Call("GET", f"{BASE}/{speaker_id}"), Speaker)


def delete(speaker_id: str) -> Op[None]:
    return c.nothing(Call("DELETE", f"{BASE}/{speaker_id}"))


def enroll(speaker_id: str, audio: FileInput) -> Op[EnrollmentCreated]:
    call = Call(
        "POST", f"{BASE}/{speaker_id}/enrollments", files={"audio": c.upload(audio)}, timeout=300
    )
    return c.model(call, EnrollmentCreated)


def enrollments(speaker_id: str) -> Op[list[Enrollment]]:
    return c.models(Call("GET", f"{BASE}/{speaker_id}/enrollments"), Enrollment)


def delete_enrollment(speaker_id: str, enrollment_id: str) -> Op[Speaker]:
    return c.model(Call("DELETE", f"{BASE}/{speaker_id}/enrollments/{enrollment_id}"), Speaker)


def verify(
    speaker_id: str, audio: FileInput, *, threshold: float | None = None
) -> Op[Verification]:
    """Is this the speaker? ``score`` (cosine similarity) and ``match``."""
    call = Call(
        "POST",
        f"{BASE}/{speaker_id}/verify",
        data=c.form(threshold=threshold),
        files={"audio": c.upload(audio)},
        timeout=300,
    )
    return c.model(call, Verification)


def identify(
    audio: FileInput, *, top_k: int | None = None, threshold: float | None = None
) -> Op[Identification]:
    """Who is this? The enrolled speakers scoring at least ``threshold``, best first."""
    call = Call(
        "POST",
        f"{BASE}/identify",
        data=c.form(top_k=top_k, threshold=threshold),
        files={"audio": c.upload(audio)},
        timeout=300,
    )
    return c.model(call, Identification)


def diarize(
    audio: FileInput,
    *,
    speaker_ids: list[str] | None = None,
    threshold: float | None = None,
    callback_url: str | None = None,
) -> Op[JobQueued]:
    """Who spoke when in a recording: a job whose ``result`` has the segments."""
    fields = c.form(
        speaker_ids=",".join(speaker_ids) if speaker_ids else None,
        threshold=threshold,
        callback_url=callback_url,
    )
    call = Call(
        "POST", "/v1/biometrics/jobs", data=fields, files={"audio": c.upload(audio)}, timeout=600
    )
    return c.model(call, JobQueued)


class Speakers(SyncResource):
    create = sync_op(create)
    list = sync_op(list_)
    get = sync_op(get)
    delete = sync_op(delete)
    enroll = sync_op(enroll)
    enrollments = sync_op(enrollments)
    delete_enrollment = sync_op(delete_enrollment)
    verify = sync_op(verify)
    identify = sync_op(identify)
    diarize = sync_op(diarize)


class AsyncSpeakers(AsyncResource):
    create = async_op(create)
    list = async_op(list_)
    get = async_op(get)
    delete = async_op(delete)
    enroll = async_op(enroll)
    enrollments = async_op(enrollments)
    delete_enrollment = async_op(delete_enrollment)
    verify = async_op(verify)
    identify = async_op(identify)
    diarize = async_op(diarize)
