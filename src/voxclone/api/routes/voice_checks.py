"""``POST /v1/voices/check``: a reference clip's verdict before a voice is saved (a dry run of
``POST /v1/voices``'s checks; nothing is stored)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import AudioTooLarge, MissingField
from voxclone.services.reference_check import check_reference_clip

router = APIRouter(tags=["voices"])


class ReferenceVerdictPublic(BaseModel):
    usable: bool = Field(description="Whether the checks found the clip usable.")
    backend: str
    enforced: bool = Field(
        description="true: POST /v1/voices on this backend refuses what usable: false says; "
        "false: the backend checks nothing, the checks were run as advice (checked_by)."
    )
    checked_by: str | None = Field(description="The engine whose reference checks ran.")
    format: str
    duration_s: float
    sample_rate: int
    checks: dict[str, Any] = Field(description="What the checks measured (speech_s, level...).")
    error: str | None = Field(description="The error POST /v1/voices would answer.")
    message: str | None
    problem: str | None = Field(description="silence, noise, music, multiple_speakers...")
    details: dict[str, Any]


@router.post("/v1/voices/check", response_model=ReferenceVerdictPublic)
async def check_reference(
    request: Request, services: ServicesDep, _user: UserKey
) -> ReferenceVerdictPublic:
    """Multipart ``ref_audio``, optional ``backend`` and ``lang``: the verdict of the checks
    ``POST /v1/voices`` runs on a reference (length, silence, noise, music, two speakers),
    without saving anything. A clip that is not audio, or too large, is refused as there."""
    limits = services.settings.limits
    form = await read_form(
        request,
        max_file_bytes=limits.max_reference_bytes,
        too_large=AudioTooLarge,
        field="ref_audio",
    )
    try:
        audio = await read_upload(form, "ref_audio")
        if audio is None:
            raise MissingField(
                "ref_audio (a WAV, MP3, FLAC or OGG file) is required", field="ref_audio"
            )
        verdict = await check_reference_clip(
            engines=services.engines,
            limits=limits,
            audio=audio,
            backend=text_field(form, "backend") or services.settings.default_backend,
            lang=text_field(form, "lang") or "en",
        )
    finally:
        await form.close()
    return ReferenceVerdictPublic.model_validate(verdict, from_attributes=True)
