"""ElevenLabs' voices: list (``GET /v1/voices``), search (``GET /v2/voices``), get, add from
samples (``POST /v1/voices/add``, instant voice cloning), edit, delete, and settings; thin
adapters over ``VoiceService``, ``VoiceSampleService`` and ``VoiceCatalog``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData, UploadFile

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.elevenlabs.schemas import (
    DEFAULT_SETTINGS,
    SETTINGS_META,
    ElevenLabsVoiceSettings,
    settings_of,
    voice_shape,
)
from voxclone.api.uploads import read_form, text_field
from voxclone.core.errors import AudioTooLarge, InvalidInput, MissingField
from voxclone.db.tables import Voice
from voxclone.services.container import Services
from voxclone.services.stock_voices import StockVoice
from voxclone.services.voice_catalog import ALL, VoiceCatalog
from voxclone.services.voice_profiles import VoiceQuery
from voxclone.services.voices import VoiceUpdate

router = APIRouter(tags=["elevenlabs"])

CATEGORIES = {"premade": "stock", "cloned": "cloned"}
"""ElevenLabs' ``category`` (and ``voice_type``) filters onto voxclone's catalog's."""
VOICE_TYPES = {"default": "stock", "personal": "cloned", "non-default": "cloned"}
MAX_LISTED = 1000


@router.get("/v1/voices/settings/default")
async def default_settings(_user: UserKey) -> dict[str, Any]:
    return dict(DEFAULT_SETTINGS)


@router.get("/v1/voices")
async def list_voices(services: ServicesDep, user: UserKey) -> dict[str, Any]:
    """Every voice the key can use: its own (``cloned``), then the stock voices (``premade``)."""
    assert user.key_id is not None
    page = await _catalog(services).page(
        key_id=user.key_id, query=VoiceQuery(limit=MAX_LISTED), category=ALL
    )
    return {"voices": [voice_shape(v) for v in page.voices]}


@router.get("/v2/voices")
async def search_voices(
    services: ServicesDep,
    user: UserKey,
    next_page_token: str | None = None,
    page_size: int = Query(10, ge=1, le=100),
    search: str | None = None,
    sort: str | None = Query(None, description="created_at_unix or name"),
    sort_direction: str | None = Query(None, description="asc or desc"),
    voice_type: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Paged search by name; ``category`` premade/cloned and ``voice_type`` default/personal
    filter; other filters are accepted and ignored."""
    assert user.key_id is not None
    kind = CATEGORIES.get(category or "") or VOICE_TYPES.get(voice_type or "") or ALL
    if category and category not in CATEGORIES:
        return {"voices": [], "has_more": False, "total_count": 0, "next_page_token": None}
    query = VoiceQuery(
        search=search or None,
        sort="name" if sort == "name" else "created_at",
        order="asc" if sort_direction == "asc" else "desc",
        limit=page_size,
        cursor=next_page_token or "",
    )
    catalog = _catalog(services)
    page = await catalog.page(key_id=user.key_id, query=query, category=kind)
    counted = VoiceQuery(search=search or None, limit=MAX_LISTED)
    total = len((await catalog.page(key_id=user.key_id, query=counted, category=kind)).voices)
    return {
        "voices": [voice_shape(v) for v in page.voices],
        "has_more": page.has_more,
        "total_count": total,
        "next_page_token": page.next_cursor,
    }


@router.get("/v1/voices/{voice_id}")
async def get_voice(voice_id: str, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    voice = await find_voice(services, user.key_id, voice_id)
    if isinstance(voice, StockVoice):
        return voice_shape(voice)
    assert user.key_id is not None
    samples = await services.voice_samples.samples(key_id=user.key_id, voice_id=voice.id)
    return voice_shape(voice, samples)


@router.post("/v1/voices/add")
async def add_voice(request: Request, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    """Instant voice cloning: the first of ``files`` makes the voice, the others are added as
    samples. ``labels`` (a JSON object) and ``description`` are kept;
    ``remove_background_noise`` denoises the first file."""
    assert user.key_id is not None
    form = await _form(request, services)
    try:
        name = (text_field(form, "name") or "").strip()
        if not name:
            raise MissingField("name is required", field="name")
        files = await _files(form)
        labels = _labels(form)
        voice = await services.voices.create(
            key_id=user.key_id,
            name=name,
            ref_audio=files[0],
            lang=labels.get("language") or "en",
            denoise=_true(text_field(form, "remove_background_noise")),
            admit_job=lambda: services.admission.admit_job(user),
        )
        try:  # one clone: a file that cannot be added undoes the voice
            for extra in files[1:]:
                await services.voice_samples.add(key_id=user.key_id, voice_id=voice.id, audio=extra)
            await _describe(services, user.key_id, voice.id, form, labels)
        except BaseException:
            await services.voices.delete(key_id=user.key_id, voice_id=voice.id)
            raise
    finally:
        await form.close()
    return {"voice_id": voice.id, "requires_verification": False}


@router.post("/v1/voices/{voice_id}/edit")
async def edit_voice(
    voice_id: str, request: Request, services: ServicesDep, user: UserKey
) -> dict[str, Any]:
    """``name``, ``description``, ``labels``; ``files`` are added as samples."""
    assert user.key_id is not None
    voice = await services.voices.get(key_id=user.key_id, voice_id=voice_id)
    form = await _form(request, services)
    try:
        name = (text_field(form, "name") or "").strip()
        if name:
            await services.voices.update(
                key_id=user.key_id, voice_id=voice.id, changes=VoiceUpdate(name=name)
            )
        for extra in await _files(form, required=False):
            await services.voice_samples.add(key_id=user.key_id, voice_id=voice.id, audio=extra)
        await _describe(services, user.key_id, voice.id, form, _labels(form))
    finally:
        await form.close()
    return {"status": "ok"}


@router.delete("/v1/voices/{voice_id}")
async def delete_voice(voice_id: str, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    assert user.key_id is not None
    await services.voices.delete(key_id=user.key_id, voice_id=voice_id)
    return {"status": "ok"}


@router.get("/v1/voices/{voice_id}/settings")
async def get_settings(voice_id: str, services: ServicesDep, user: UserKey) -> dict[str, Any]:
    return settings_of(await find_voice(services, user.key_id, voice_id))


@router.post("/v1/voices/{voice_id}/settings/edit")
async def edit_settings(
    voice_id: str, body: ElevenLabsVoiceSettings, services: ServicesDep, user: UserKey
) -> dict[str, Any]:
    """Kept with the voice and used when a synthesis sends no ``voice_settings``."""
    assert user.key_id is not None
    voice = await services.voices.get(key_id=user.key_id, voice_id=voice_id)
    stored = {**(voice.meta or {}).get(SETTINGS_META, {}), **body.model_dump(exclude_none=True)}
    await services.voices.set_meta(
        key_id=user.key_id, voice_id=voice.id, meta={**(voice.meta or {}), SETTINGS_META: stored}
    )
    return {"status": "ok"}


async def find_voice(services: Services, key_id: str | None, voice_id: str) -> Voice | StockVoice:
    """The key's voice or a stock voice by id (404 ``voice_not_found`` otherwise)."""
    assert key_id is not None
    return await services.voices.find(key_id=key_id, voice=voice_id)


def _catalog(services: Services) -> VoiceCatalog:
    return VoiceCatalog(search=services.voice_search, stock=services.voices.stock)


async def _form(request: Request, services: Services) -> FormData:
    return await read_form(
        request,
        max_file_bytes=services.settings.limits.max_reference_bytes,
        too_large=AudioTooLarge,
        field="files",
    )


async def _files(form: FormData, *, required: bool = True) -> list[bytes]:
    files = [await f.read() for f in form.getlist("files") if isinstance(f, UploadFile)]
    if required and not files:
        raise MissingField("files is required: one or more audio files", field="files")
    return files


def _labels(form: FormData) -> dict[str, str]:
    raw = text_field(form, "labels")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInput("labels must be a JSON object", field="labels") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("labels must be a JSON object", field="labels")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


async def _describe(
    services: Services, key_id: str, voice_id: str, form: FormData, labels: dict[str, str]
) -> None:
    description = text_field(form, "description")
    if description is None and not labels:
        return
    await services.voices.update(
        key_id=key_id,
        voice_id=voice_id,
        changes=VoiceUpdate(description=description, labels=labels or None),
    )
