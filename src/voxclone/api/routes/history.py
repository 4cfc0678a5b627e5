"""Generation history: list, search, play (with HTTP Range), star, delete, regenerate, zip."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.history_schemas import (
    HistoryDeleted,
    HistoryIds,
    HistoryItemPublic,
    HistoryPagePublic,
)
from voxclone.api.routes.provenance import manifest_url
from voxclone.audio import media_type
from voxclone.core.errors import Conflict, InvalidInput
from voxclone.db.history import HistoryFilter
from voxclone.db.tables import HistoryItem
from voxclone.services.keys import Principal

router = APIRouter(prefix="/v1/history", tags=["history"])

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _key(user: Principal) -> str:
    if user.key_id is None:  # get_user refuses the admin key; this narrows the type
        raise InvalidInput("a user key is required")
    return user.key_id


def _public(request: Request, item: HistoryItem) -> HistoryItemPublic:
    url = str(request.url_for("history_audio", history_id=item.id))
    return HistoryItemPublic.of(item, audio_url=url, manifest_url=manifest_url(request, item.id))


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone (2026-01-31T00:00:00Z)", field=field)
    return value


@router.get("", response_model=HistoryPagePublic)
async def list_history(
    request: Request,
    services: ServicesDep,
    user: UserKey,
    search: str | None = Query(None, max_length=500, description="Substring of the text."),
    voice_id: str | None = None,
    backend: str | None = None,
    since: datetime | None = Query(None, description="Created at or after (ISO 8601)."),
    until: datetime | None = Query(None, description="Created before (ISO 8601)."),
    starred: bool | None = None,
    limit: int = Query(50, ge=1, le=100),
    cursor: str | None = None,
) -> HistoryPagePublic:
    """The key's items, newest first; every filter narrows the list."""
    filter = HistoryFilter(
        search=search or None,
        voice_id=voice_id,
        backend=backend,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        starred=starred,
    )
    page = await services.history.page(key_id=_key(user), filter=filter, limit=limit, cursor=cursor)
    return HistoryPagePublic(
        items=[_public(request, item) for item in page.items],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@router.post("/delete", response_model=HistoryDeleted)
async def delete_many(body: HistoryIds, services: ServicesDep, user: UserKey) -> HistoryDeleted:
    """Delete several items; 404 (and nothing deleted) if one is not the key's. Items a story
    uses are kept and listed in ``in_use``."""
    done = await services.history.delete(key_id=_key(user), ids=body.ids)
    return HistoryDeleted(deleted=done.deleted, in_use=done.in_use)


@router.delete("", response_model=HistoryDeleted)
async def delete_many_by_query(
    services: ServicesDep,
    user: UserKey,
    ids: Annotated[list[str], Query(min_length=1, description="Repeat, or comma-separate.")],
) -> HistoryDeleted:
    wanted = [i.strip() for value in ids for i in value.split(",") if i.strip()]
    done = await services.history.delete(key_id=_key(user), ids=wanted)
    return HistoryDeleted(deleted=done.deleted, in_use=done.in_use)


@router.post("/download")
async def download(body: HistoryIds, services: ServicesDep, user: UserKey) -> StreamingResponse:
    """The items' audio as one zip, with ``manifest.json``; streamed."""
    chunks = await services.history.download(key_id=_key(user), ids=body.ids)
    headers = {"Content-Disposition": 'attachment; filename="history.zip"'}
    return StreamingResponse(chunks, media_type="application/zip", headers=headers)


@router.get("/{history_id}", response_model=HistoryItemPublic)
async def get_item(
    history_id: str, request: Request, services: ServicesDep, user: UserKey
) -> HistoryItemPublic:
    item = await services.history.get(key_id=_key(user), history_id=history_id)
    return _public(request, item)


@router.get("/{history_id}/audio", name="history_audio")
async def item_audio(
    history_id: str, request: Request, services: ServicesDep, user: UserKey
) -> Response:
    """The audio; a single ``Range: bytes=`` range is answered 206 (416 when unsatisfiable)."""
    data, fmt = await services.history.audio(key_id=_key(user), history_id=history_id)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{history_id}.{fmt}"',
    }
    asked = _RANGE.match(request.headers.get("range", "").strip())
    if asked is None or asked.groups() == ("", ""):
        return Response(data, media_type=media_type(fmt), headers=headers)
    size = len(data)
    first, last = asked.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end or (not first and int(last) == 0):
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(
        data[start : end + 1], status_code=206, media_type=media_type(fmt), headers=headers
    )


@router.delete("/{history_id}", status_code=204)
async def delete_item(history_id: str, services: ServicesDep, user: UserKey) -> Response:
    """409 while a story clip uses the item."""
    done = await services.history.delete(key_id=_key(user), ids=[history_id])
    if done.in_use:
        raise Conflict(
            f"history item {history_id} is used by a story; remove it from the story first",
            history_id=history_id,
        )
    return Response(status_code=204)


@router.post("/{history_id}/regenerate", status_code=201, response_model=HistoryItemPublic)
async def regenerate(
    history_id: str, request: Request, services: ServicesDep, user: UserKey
) -> HistoryItemPublic:
    """The same synthesis with a new seed, through the pipeline (quota, usage, cache)."""
    item = await services.history.regenerate(caller=user, key_id=_key(user), history_id=history_id)
    return _public(request, item)


@router.put("/{history_id}/star", response_model=HistoryItemPublic)
async def star(
    history_id: str, request: Request, services: ServicesDep, user: UserKey
) -> HistoryItemPublic:
    """Starred items are never removed by retention."""
    item = await services.history.star(key_id=_key(user), history_id=history_id, starred=True)
    return _public(request, item)


@router.delete("/{history_id}/star", response_model=HistoryItemPublic)
async def unstar(
    history_id: str, request: Request, services: ServicesDep, user: UserKey
) -> HistoryItemPublic:
    item = await services.history.star(key_id=_key(user), history_id=history_id, starred=False)
    return _public(request, item)
