"""ElevenLabs' history: list, get, audio, delete and download, over ``HistoryService``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.elevenlabs.schemas import HistoryDownloadRequest, unix
from voxclone.audio import media_type
from voxclone.core.errors import InvalidId
from voxclone.core.types import parse_id
from voxclone.db.history import HistoryFilter
from voxclone.db.tables import HistoryItem
from voxclone.services.cursors import encode_cursor

router = APIRouter(tags=["elevenlabs"])
MAX_PAGE = 100
"""voxclone's largest history page; ElevenLabs allows 1000 (a larger page_size gets 100)."""


@router.get("/v1/history")
async def list_history(
    services: ServicesDep,
    user: UserKey,
    page_size: int = Query(100, ge=1, le=1000),
    start_after_history_item_id: str | None = None,
    voice_id: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """Newest first; ``start_after_history_item_id`` is the last item of the previous page.
    ``model_id``, ``date_*``, ``sort_direction`` and ``source`` are accepted and ignored."""
    assert user.key_id is not None
    history = services.history
    cursor = None
    if start_after_history_item_id:
        after = await history.get(key_id=user.key_id, history_id=start_after_history_item_id)
        cursor = encode_cursor(after.created_at, after.id)
    page = await history.page(
        key_id=user.key_id,
        filter=HistoryFilter(search=search or None, voice_id=voice_id or None),
        limit=min(page_size, MAX_PAGE),
        cursor=cursor,
    )
    return {
        "history": [item_shape(item) for item in page.items],
        "last_history_item_id": page.items[-1].id if page.items else None,
        "has_more": page.has_more,
    }


@router.get("/v1/history/{history_item_id}")
async def get_history_item(
    history_item_id: str, services: ServicesDep, user: UserKey
) -> dict[str, Any]:
    assert user.key_id is not None
    return item_shape(await services.history.get(key_id=user.key_id, history_id=history_item_id))


@router.get("/v1/history/{history_item_id}/audio")
async def history_audio(history_item_id: str, services: ServicesDep, user: UserKey) -> Response:
    assert user.key_id is not None
    data, fmt = await services.history.audio(key_id=user.key_id, history_id=history_item_id)
    return Response(data, media_type=media_type(fmt))


@router.delete("/v1/history/{history_item_id}")
async def delete_history_item(
    history_item_id: str, services: ServicesDep, user: UserKey
) -> dict[str, Any]:
    assert user.key_id is not None
    await services.history.delete(key_id=user.key_id, ids=[history_item_id])
    return {"status": "ok"}


@router.post("/v1/history/download")
async def download_history(
    body: HistoryDownloadRequest, services: ServicesDep, user: UserKey
) -> Response:
    """One item: its audio; several: a zip of them (with voxclone's manifest)."""
    assert user.key_id is not None
    ids = list(dict.fromkeys(body.history_item_ids))
    if len(ids) == 1:
        data, fmt = await services.history.audio(key_id=user.key_id, history_id=ids[0])
        return Response(data, media_type=media_type(fmt))
    chunks = await services.history.download(key_id=user.key_id, ids=ids)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="history.zip"'},
    )


def item_shape(item: HistoryItem) -> dict[str, Any]:
    """An item as ElevenLabs' ``SpeechHistoryItemResponse``; ``model_id`` is the engine."""
    return {
        "history_item_id": item.id,
        "request_id": item.job_id,
        "voice_id": item.voice_id,
        "model_id": item.backend,
        "voice_name": item.voice_name,
        "voice_category": _category(item.voice_id),
        "text": item.text,
        "date_unix": unix(item.created_at),
        "character_count_change_from": 0,
        "character_count_change_to": item.characters,
        "content_type": media_type(item.audio_format),
        "state": "created",
        "settings": dict(item.params or {}),
        "source": "TTS",
        "output_format": item.audio_format,
    }


def _category(voice_id: str | None) -> str | None:
    if not voice_id:
        return None
    try:
        parse_id(voice_id, what="voice_id")
    except InvalidId:
        return "premade"
    return "cloned"
