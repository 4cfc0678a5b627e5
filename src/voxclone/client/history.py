"""Generation history: list and search, get, audio, star, regenerate, delete, zip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voxclone.client import calls as c
from voxclone.client.calls import Call, Op
from voxclone.client.models import Audio, Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op

BASE = "/v1/history"


class HistoryItem(Model):
    history_id: str
    voice_id: str | None = None
    voice_name: str | None = None
    voice_deleted: bool = False
    text: str
    lang: str | None = None
    params: dict[str, Any] = {}
    backend: str
    entry: str
    job_id: str | None = None
    source_id: str | None = None
    audio_format: str
    audio_bytes: int
    duration_s: float
    characters: int
    cache_hit: bool
    starred: bool
    created_at: datetime
    audio_url: str | None = None


class HistoryPage(Model):
    items: list[HistoryItem]
    has_more: bool
    next_cursor: str | None = None


class HistoryDeleted(Model):
    deleted: list[str]
    in_use: list[str] = []


def list_(
    *,
    search: str | None = None,
    voice_id: str | None = None,
    backend: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    starred: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Op[HistoryPage]:
    """The key's items, newest first (a page; pass ``next_cursor`` on for more)."""
    params = {
        "search": search,
        "voice_id": voice_id,
        "backend": backend,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "starred": None if starred is None else ("true" if starred else "false"),
        "limit": limit,
        "cursor": cursor,
    }
    return c.model(Call("GET", BASE, params=params), HistoryPage)


def get(history_id: str) -> Op[HistoryItem]:
    return c.model(Call("GET", f"{BASE}/{history_id}"), HistoryItem)


def audio(history_id: str) -> Op[Audio]:
    response = yield from c.send(Call("GET", f"{BASE}/{history_id}/audio"))
    return Audio.of(response)


def delete(ids: list[str]) -> Op[HistoryDeleted]:
    """Delete items (404, nothing deleted, if one is not the key's); items a story uses are
    kept and listed in ``in_use``."""
    return c.model(Call("POST", f"{BASE}/delete", json={"ids": list(ids)}), HistoryDeleted)


def star(history_id: str, starred: bool = True) -> Op[HistoryItem]:
    method = "PUT" if starred else "DELETE"
    return c.model(Call(method, f"{BASE}/{history_id}/star"), HistoryItem)


def regenerate(history_id: str) -> Op[HistoryItem]:
    """Synthesize the item's text again with its parameters: a new item."""
    return c.model(Call("POST", f"{BASE}/{history_id}/regenerate", timeout=600), HistoryItem)


def download(ids: list[str]) -> Op[bytes]:
    """The items' audio as one zip."""
    return c.content(Call("POST", f"{BASE}/download", json={"ids": list(ids)}))


class History(SyncResource):
    list = sync_op(list_)
    get = sync_op(get)
    audio = sync_op(audio)
    delete = sync_op(delete)
    star = sync_op(star)
    regenerate = sync_op(regenerate)
    download = sync_op(download)


class AsyncHistory(AsyncResource):
    list = async_op(list_)
    get = async_op(get)
    audio = async_op(audio)
    delete = async_op(delete)
    star = async_op(star)
    regenerate = async_op(regenerate)
    download = async_op(download)
