"""Schemas of generation history (``/v1/history``) and of the job listing (``GET /v1/jobs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from voxclone.api.schemas import JobPublic
from voxclone.db.tables import HistoryItem


class HistoryItemPublic(BaseModel):
    history_id: str
    voice_id: str | None
    voice_name: str | None
    voice_deleted: bool = Field(description="The voice was deleted; the item and audio remain.")
    text: str
    lang: str | None
    params: dict[str, Any] = Field(
        description="format, sample_rate, speed, seed, temperature: what regenerating uses."
    )
    backend: str = Field(description="The engine that served it (a fallback's, if one did).")
    entry: str = Field(
        description="The way in: sync, stream, synthesize, job, ws, openai, oneshot, "
        "regenerate, edit, story."
    )
    job_id: str | None
    source_id: str | None = Field(description="The item this one was regenerated or edited from.")
    audio_format: str
    audio_bytes: int
    duration_s: float
    characters: int
    cache_hit: bool
    starred: bool
    created_at: datetime
    audio_url: str
    audio_sha256: str | None = None
    """SHA-256 of the audio's bytes (provenance on; docs/provenance.md)."""
    manifest_url: str | None = None
    """The item's signed provenance manifest (provenance on)."""

    @classmethod
    def of(
        cls, item: HistoryItem, *, audio_url: str, manifest_url: str | None = None
    ) -> HistoryItemPublic:
        return cls(
            history_id=item.id,
            voice_id=item.voice_id,
            voice_name=item.voice_name,
            voice_deleted=item.voice_deleted,
            text=item.text,
            lang=item.lang,
            params=item.params,
            backend=item.backend,
            entry=item.entry,
            job_id=item.job_id,
            source_id=item.source_id,
            audio_format=item.audio_format,
            audio_bytes=item.audio_bytes,
            duration_s=item.duration_s,
            characters=item.characters,
            cache_hit=item.cache_hit,
            starred=item.starred,
            created_at=item.created_at,
            audio_url=audio_url,
            audio_sha256=item.audio_sha256,
            manifest_url=manifest_url,
        )


class HistoryPagePublic(BaseModel):
    items: list[HistoryItemPublic]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page.")


class HistoryIds(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=1000)


class HistoryDeleted(BaseModel):
    deleted: list[str]
    in_use: list[str] = Field(description="Ids kept because a story clip uses them.")


class JobPagePublic(BaseModel):
    jobs: list[JobPublic]
    has_more: bool
    next_cursor: str | None
