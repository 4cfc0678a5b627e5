from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import VoicePatch, VoicePublic
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import AudioTooLarge, InvalidAudio, InvalidInput, MissingField
from voxclone.services.voices import VoiceUpdate

router = APIRouter(prefix="/v1/voices", tags=["voices"])


@router.post("", status_code=201, response_model=VoicePublic)
async def create_voice(request: Request, services: ServicesDep, user: UserKey) -> VoicePublic:
    """Multipart: name, ref_audio (WAV/MP3/FLAC/OGG), ref_text, backend, lang, family,
    denoise (true: DeepFilterNet cleans the reference before it is stored)."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_reference_bytes,
        too_large=AudioTooLarge,
        field="ref_audio",
    )
    try:
        name = text_field(form, "name")
        if not name or not name.strip():
            raise MissingField("name is required", field="name")
        if "ref_audio" not in form:
            raise MissingField(
                "ref_audio is required (a WAV, MP3, FLAC or OGG file)", field="ref_audio"
            )
        audio = await read_upload(form, "ref_audio")
        if audio is None:
            raise InvalidAudio(
                "ref_audio must be a file upload, not a text field", field="ref_audio"
            )
        assert user.key_id is not None
        voice = await services.voices.create(
            key_id=user.key_id,
            name=name,
            ref_audio=audio,
            ref_text=text_field(form, "ref_text"),
            backend=text_field(form, "backend") or None,
            lang=text_field(form, "lang") or "en",
            family=text_field(form, "family"),
            denoise=_flag(text_field(form, "denoise"), field="denoise"),
        )
    finally:
        await form.close()
    return VoicePublic.of(voice)


@router.get("", response_model=list[VoicePublic])
async def list_voices(
    services: ServicesDep,
    user: UserKey,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[VoicePublic]:
    assert user.key_id is not None
    voices = await services.voices.list(key_id=user.key_id, limit=limit, offset=offset)
    return [VoicePublic.of(v) for v in voices]


@router.get("/{voice_id}", response_model=VoicePublic)
async def get_voice(voice_id: str, services: ServicesDep, user: UserKey) -> VoicePublic:
    assert user.key_id is not None
    return VoicePublic.of(await services.voices.get(key_id=user.key_id, voice_id=voice_id))


@router.patch("/{voice_id}", response_model=VoicePublic)
async def update_voice(
    voice_id: str, body: VoicePatch, services: ServicesDep, user: UserKey
) -> VoicePublic:
    assert user.key_id is not None
    voice = await services.voices.update(
        key_id=user.key_id, voice_id=voice_id, changes=VoiceUpdate(**body.model_dump())
    )
    return VoicePublic.of(voice)


@router.delete("/{voice_id}", status_code=204)
async def delete_voice(voice_id: str, services: ServicesDep, user: UserKey) -> Response:
    assert user.key_id is not None
    await services.voices.delete(key_id=user.key_id, voice_id=voice_id)
    return Response(status_code=204)


@router.get("/{voice_id}/reference")
async def get_reference(voice_id: str, services: ServicesDep, user: UserKey) -> Response:
    assert user.key_id is not None
    audio = await services.voices.reference_download(key_id=user.key_id, voice_id=voice_id)
    headers = {"X-Voice-Id": voice_id, "Content-Length": str(audio.size)}
    return StreamingResponse(audio.chunks, media_type=audio.media_type, headers=headers)


def _flag(value: str | None, *, field: str) -> bool:
    """A boolean form field: true/false, 1/0, yes/no, on/off; absent or empty is false."""
    text = (value or "").strip().lower()
    if text in ("", "false", "0", "no", "off"):
        return False
    if text in ("true", "1", "yes", "on"):
        return True
    raise InvalidInput(f"{field} must be true or false, got {value!r}", field=field)
