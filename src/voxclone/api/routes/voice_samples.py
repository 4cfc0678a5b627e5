"""A voice's reference samples: ``/v1/voices/{voice_id}/samples``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import VoicePublic
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.api.voice_schemas import SampleChanged, SampleList, SamplePublic
from voxclone.core.errors import AudioTooLarge, MissingField

router = APIRouter(prefix="/v1/voices/{voice_id}/samples", tags=["voices"])


@router.post("", status_code=201, response_model=SampleChanged)
async def add_sample(
    voice_id: str, request: Request, services: ServicesDep, user: UserKey
) -> SampleChanged:
    """Multipart: ``audio`` (WAV/MP3/FLAC/OGG), optional ``ref_text`` (transcribed when
    absent). The voice is refitted to all its samples: a fitting engine in a job
    (``voice.refit_job_id``) while the previous fit keeps serving."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_reference_bytes,
        too_large=AudioTooLarge,
        field="audio",
    )
    try:
        audio = await read_upload(form, "audio")
        if audio is None:
            raise MissingField("audio is required (a WAV, MP3, FLAC or OGG file)", field="audio")
        assert user.key_id is not None
        change = await services.voice_samples.add(
            key_id=user.key_id,
            voice_id=voice_id,
            audio=audio,
            ref_text=text_field(form, "ref_text"),
            admit_job=lambda: services.admission.admit_job(user),
        )
    finally:
        await form.close()
    assert change.sample is not None
    return SampleChanged(sample=SamplePublic.of(change.sample), voice=VoicePublic.of(change.voice))


@router.get("", response_model=SampleList)
async def list_samples(voice_id: str, services: ServicesDep, user: UserKey) -> SampleList:
    assert user.key_id is not None
    samples = await services.voice_samples.samples(key_id=user.key_id, voice_id=voice_id)
    return SampleList(
        samples=[SamplePublic.of(s) for s in samples],
        total_duration_s=round(sum(s.duration_s for s in samples), 3),
    )


@router.get("/{sample_id}/audio")
async def sample_audio(
    voice_id: str, sample_id: str, services: ServicesDep, user: UserKey
) -> Response:
    assert user.key_id is not None
    audio = await services.voice_samples.audio(
        key_id=user.key_id, voice_id=voice_id, sample_id=sample_id
    )
    headers = {"X-Voice-Id": voice_id, "Content-Length": str(audio.size)}
    return StreamingResponse(audio.chunks, media_type=audio.media_type, headers=headers)


@router.delete("/{sample_id}", response_model=SampleChanged)
async def remove_sample(
    voice_id: str, sample_id: str, services: ServicesDep, user: UserKey
) -> SampleChanged:
    """Remove a sample and refit the voice to the rest; the last sample cannot go (409)."""
    assert user.key_id is not None
    change = await services.voice_samples.remove(
        key_id=user.key_id,
        voice_id=voice_id,
        sample_id=sample_id,
        admit_job=lambda: services.admission.admit_job(user),
    )
    return SampleChanged(voice=VoicePublic.of(change.voice))
