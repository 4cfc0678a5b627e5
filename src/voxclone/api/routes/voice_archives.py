"""Voices as portable archives: ``GET /v1/voices/{id}/export``, ``POST /v1/voices/import``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import VoicePublic
from voxclone.api.uploads import read_form, read_upload
from voxclone.core.errors import ArchiveTooLarge, MissingField

router = APIRouter(prefix="/v1/voices", tags=["voices"])


@router.get("/{voice_id}/export")
async def export_voice(voice_id: str, services: ServicesDep, user: UserKey) -> Response:
    """One zip: manifest.json (SHA-256 of every member), voice.json (profile and samples),
    prompt.json (the engine's prompt, name and version), samples/NN.EXT (see docs/voices.md)."""
    assert user.key_id is not None
    exported = await services.voice_archives.export(key_id=user.key_id, voice_id=voice_id)
    return Response(
        exported.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "X-Voice-Id": voice_id,
        },
    )


@router.post("/import", status_code=201, response_model=VoicePublic)
async def import_voice(
    request: Request, services: ServicesDep, user: UserKey, refit: bool = False
) -> VoicePublic:
    """Multipart ``archive`` (an export). An archive from another engine version is refused
    (422 ``incompatible_engine_version``) unless ``?refit=true``; unsafe or damaged archives are
    refused (422 ``unsafe_archive`` / ``invalid_archive``, ``details.problem``) creating nothing."""
    limits = services.settings.limits
    form = await read_form(
        request,
        max_file_bytes=limits.max_voice_archive_bytes,
        too_large=ArchiveTooLarge,
        field="archive",
    )
    try:
        data = await read_upload(form, "archive")
        if data is None:
            raise MissingField("archive is required (a zip made by export)", field="archive")
        assert user.key_id is not None
        voice = await services.voice_archives.import_(
            key_id=user.key_id,
            data=data,
            refit=refit,
            admit_job=lambda: services.admission.admit_job(user),
        )
    finally:
        await form.close()
    return VoicePublic.of(voice)
