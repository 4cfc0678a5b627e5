"""Spoken consent to clone a voice: ``/v1/voices/{voice_id}/consent`` (docs/consent.md)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import AudioTooLarge, MissingField
from voxclone.db.tables import VoiceConsent

router = APIRouter(prefix="/v1/voices/{voice_id}/consent", tags=["voices"])


class ConsentChallenge(BaseModel):
    consent_id: str
    voice_id: str
    phrase: str
    """Say exactly this, in the voice's own voice, and send the recording."""
    expires_at: datetime


class ConsentPublic(BaseModel):
    consent_id: str
    voice_id: str
    phrase: str
    status: str
    """pending, accepted, rejected or expired."""
    transcript: str | None
    word_error_rate: float | None
    speaker_score: float | None
    speaker_threshold: float | None
    recording_sha256: str | None
    reason: str | None
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, c: VoiceConsent) -> ConsentPublic:
        return cls(
            consent_id=c.id,
            voice_id=c.voice_id,
            phrase=c.phrase,
            status=c.status,
            transcript=c.transcript,
            word_error_rate=c.word_error_rate,
            speaker_score=c.speaker_score,
            speaker_threshold=c.speaker_threshold,
            recording_sha256=c.recording_sha256,
            reason=c.reason,
            created_at=c.created_at,
            decided_at=c.decided_at,
        )


def _key(user: UserKey) -> str:
    assert user.key_id is not None
    return user.key_id


@router.post("/challenge", status_code=201, response_model=ConsentChallenge)
async def challenge(voice_id: str, services: ServicesDep, user: UserKey) -> ConsentChallenge:
    """A one-time phrase for the voice's owner to say (valid ``consent.challenge_ttl_s``)."""
    c = await services.consent.challenge(key_id=_key(user), voice_id=voice_id)
    return ConsentChallenge(
        consent_id=c.id, voice_id=c.voice_id, phrase=c.phrase, expires_at=c.expires_at
    )


@router.post("", status_code=201, response_model=ConsentPublic)
async def answer(
    voice_id: str, request: Request, services: ServicesDep, user: UserKey
) -> ConsentPublic:
    """Multipart ``audio`` (the phrase, spoken), optional ``consent_id`` (default: the newest
    open challenge). 201 when accepted; 422 ``consent_rejected`` with the scores when not
    (the verdict is kept either way)."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_reference_bytes,
        too_large=AudioTooLarge,
        field="audio",
    )
    try:
        audio = await read_upload(form, "audio")
        if audio is None:
            raise MissingField("audio is required: a recording of the phrase", field="audio")
        consent = await services.consent.answer(
            key_id=_key(user),
            voice_id=voice_id,
            audio=audio,
            challenge_id=text_field(form, "consent_id"),
        )
    finally:
        await form.close()
    return ConsentPublic.of(consent)


@router.get("", response_model=list[ConsentPublic])
async def consents(voice_id: str, services: ServicesDep, user: UserKey) -> list[ConsentPublic]:
    """Every challenge and verdict of the voice, oldest first (the consent record)."""
    return [
        ConsentPublic.of(c)
        for c in await services.consent.list(key_id=_key(user), voice_id=voice_id)
    ]
