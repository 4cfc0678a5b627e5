from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import FormData

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import INT32_MAX, VoicePatch, VoicePublic
from voxclone.api.stock_voice_schemas import any_public, stock_public
from voxclone.api.uploads import read_form, text_field, upload_or_url
from voxclone.api.voice_schemas import VoicePage
from voxclone.core.errors import AudioTooLarge, InvalidAudio, InvalidInput, MissingField
from voxclone.services.voice_catalog import VoiceCatalog
from voxclone.services.voice_profiles import (
    VoiceProfile,
    VoiceQuery,
    clean_description,
    parse_labels,
    parse_tags,
)
from voxclone.services.voices import VoiceUpdate

router = APIRouter(prefix="/v1/voices", tags=["voices"])


@router.post("", status_code=201, response_model=VoicePublic)
async def create_voice(request: Request, services: ServicesDep, user: UserKey) -> VoicePublic:
    """Multipart: name, ref_audio (WAV/MP3/FLAC/OGG) or reference_audio_url (fetched from a
    public address), ref_text, backend, lang, family, denoise (true: DeepFilterNet cleans the
    reference before it is stored), callback_url (told, signed, when fitting ends)."""
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
        callback_url = await services.webhooks.check_callback_url(
            text_field(form, "callback_url") or None
        )
        if "ref_audio" not in form and not text_field(form, "reference_audio_url"):
            raise MissingField(
                "ref_audio (a WAV, MP3, FLAC or OGG file) or reference_audio_url is required",
                field="ref_audio",
            )
        audio = await upload_or_url(
            form,
            fetcher=services.fetcher,
            file_field="ref_audio",
            url_field="reference_audio_url",
            max_bytes=services.settings.limits.max_reference_bytes,
        )
        if audio is None:
            raise InvalidAudio(
                "ref_audio must be a file upload, not a text field", field="ref_audio"
            )
        assert user.key_id is not None
        async with services.admission.heavy.hold(user.key_id, work="voice creation"):
            voice = await services.voices.create(
                key_id=user.key_id,
                name=name,
                ref_audio=audio,
                ref_text=text_field(form, "ref_text"),
                backend=text_field(form, "backend") or None,
                lang=text_field(form, "lang") or "en",
                family=text_field(form, "family"),
                denoise=_flag(text_field(form, "denoise"), field="denoise"),
                profile=_profile(form),
                callback_url=callback_url,
                admit_job=lambda: services.admission.admit_job(user),
            )
    finally:
        await form.close()
    return VoicePublic.of(voice)


@router.get("", response_model=list[VoicePublic] | VoicePage)
async def list_voices(
    services: ServicesDep,
    user: UserKey,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT32_MAX),
    tag: list[str] = Query(default_factory=list, description="Voices with every tag given."),
    search: str | None = Query(None, description="Name contains this, in any case."),
    sort: str = Query("created_at", description="created_at or name"),
    order: str = Query("desc", description="asc or desc"),
    cursor: str | None = Query(
        None,
        description="Answer a page {voices, next_cursor, has_more}; empty: the first page. "
        "Without it the answer is the plain list it always was.",
    ),
    category: str = Query(
        "cloned",
        description="cloned (this key's voices, the default), stock (the built-in engines' "
        "voices, every key's) or all (the key's voices, then the stock voices).",
    ),
) -> list[VoicePublic] | VoicePage:
    assert user.key_id is not None
    query = VoiceQuery(
        tags=tuple(tag),
        search=search,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor or None,
        offset=offset,
    )
    catalog = VoiceCatalog(search=services.voice_search, stock=services.voices.stock)
    page = await catalog.page(key_id=user.key_id, query=query, category=category)
    voices = [any_public(v) for v in page.voices]
    if cursor is None:
        return voices
    return VoicePage(voices=voices, next_cursor=page.next_cursor, has_more=page.has_more)


@router.get("/{voice_id}", response_model=VoicePublic)
async def get_voice(voice_id: str, services: ServicesDep, user: UserKey) -> VoicePublic:
    """One of the key's voices, or a stock voice (by id, OpenAI name or mix)."""
    assert user.key_id is not None
    stock = services.voices.stock.find(voice_id)
    if stock is not None:
        return stock_public(stock)
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
async def delete_voice(
    voice_id: str, services: ServicesDep, user: UserKey, purge_history: bool = False
) -> Response:
    """The voice's generation history is kept (``voice_deleted``) unless ``purge_history``."""
    assert user.key_id is not None
    await services.voices.delete(key_id=user.key_id, voice_id=voice_id, purge_history=purge_history)
    return Response(status_code=204)


@router.get("/{voice_id}/reference")
async def get_reference(voice_id: str, services: ServicesDep, user: UserKey) -> Response:
    assert user.key_id is not None
    audio = await services.voices.reference_download(key_id=user.key_id, voice_id=voice_id)
    headers = {"X-Voice-Id": voice_id, "Content-Length": str(audio.size)}
    return StreamingResponse(audio.chunks, media_type=audio.media_type, headers=headers)


def _profile(form: FormData) -> VoiceProfile:
    """``description``, ``tags`` (comma-separated or a JSON list), ``labels`` (JSON object)."""
    return VoiceProfile(
        description=clean_description(text_field(form, "description")),
        tags=parse_tags(text_field(form, "tags") or ""),
        labels=parse_labels(text_field(form, "labels") or ""),
    )


def _flag(value: str | None, *, field: str) -> bool:
    """A boolean form field: true/false, 1/0, yes/no, on/off; absent or empty is false."""
    text = (value or "").strip().lower()
    if text in ("", "false", "0", "no", "off"):
        return False
    if text in ("true", "1", "yes", "on"):
        return True
    raise InvalidInput(f"{field} must be true or false, got {value!r}", field=field)
