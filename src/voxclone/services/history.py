"""Generation history: every synthesis that produced audio, kept for its key to find again.

``history_record.HistoryRecorder`` adds an item for every synthesis served and every synthesis
job that ends ready; edits, story renders and regenerations ``add`` their own. An item's audio
is the synthesis cache's blob when there is one (shared, not copied); otherwise (a one-shot
clone, an edit, caching off) a blob of its own under ``history/{key_id}/``. A blob is deleted
only with its last use (cache, items, story clips, jobs: ``db.history.blob_in_use``).
Retention: ``history_sweeper``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import HistorySettings
from voxclone.core.errors import Conflict, InvalidInput, NotFound
from voxclone.core.types import new_id
from voxclone.db import history as queries
from voxclone.db.history import HistoryFilter
from voxclone.db.tables import HistoryItem, Voice, utcnow
from voxclone.services.cursors import decode_cursor, encode_cursor
from voxclone.services.history_batch import PendingItems
from voxclone.services.history_zip import zipped
from voxclone.services.keys import Principal
from voxclone.services.synthesis import SynthesisService
from voxclone.services.synthesis_request import SynthesisRequest
from voxclone.storage.base import BlobStore

REGENERATE = "regenerate"
"""The entry of a regeneration: ``regenerate`` adds its item itself (with ``source_id``)."""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[HistoryItem]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


@dataclass(frozen=True, slots=True)
class Deleted:
    deleted: list[str]
    in_use: list[str]
    """Ids kept because a story clip uses them."""


class HistoryService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        settings: HistorySettings,
        synthesis: SynthesisService,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self.settings = settings
        self._synthesis = synthesis
        self._pending = PendingItems(sessions, blobs)
        self.hash_audio = False
        """Keep each item's audio SHA-256 (provenance on: ``build_services`` sets it)."""
        self._last_hashed: tuple[bytes, str] | None = None

    async def close(self) -> None:
        """Write the items held for a batch."""
        await self._pending.close()

    def add_soon(
        self,
        *,
        key_id: str,
        audio: bytes,
        audio_format: str,
        duration_s: float,
        entry: str,
        text: str,
        voice_id: str | None,
        voice_name: str | None,
        lang: str | None,
        params: dict[str, Any],
        backend: str,
        characters: int,
        cache_hit: bool,
        audio_key: str | None = None,
        item_id: str | None = None,
    ) -> None:
        """``add`` for the request path: the item (and its audio, when ``audio_key`` is None)
        is written in a batch within a second (``history_batch``), so a synthesis served
        waits for no database write. Every read of the history writes what is held first."""
        item_id = item_id or new_id()
        store = audio_key is None
        if audio_key is None:
            audio_key = f"history/{key_id}/{item_id}.{audio_format}"
        self._pending.add(
            {
                "id": item_id,
                "key_id": key_id,
                "voice_id": voice_id,
                "voice_name": voice_name,
                "voice_deleted": False,
                "text": text,
                "lang": lang,
                "params": dict(params),
                "backend": backend,
                "entry": entry,
                "job_id": None,
                "source_id": None,
                "audio_key": audio_key,
                "audio_format": audio_format,
                "audio_bytes": len(audio),
                "audio_sha256": self._sha256(audio),
                "duration_s": round(duration_s, 3),
                "characters": characters,
                "cache_hit": cache_hit,
                "starred": False,
                "created_at": utcnow(),
            },
            audio=audio if store else None,
        )

    # --- adding --------------------------------------------------------------------------------

    async def add(
        self,
        *,
        key_id: str,
        audio: bytes,
        audio_format: str,
        duration_s: float,
        entry: str,
        text: str = "",
        voice_id: str | None = None,
        voice_name: str | None = None,
        lang: str | None = None,
        params: dict[str, Any] | None = None,
        backend: str = "",
        job_id: str | None = None,
        source_id: str | None = None,
        characters: int = 0,
        cache_hit: bool = False,
        audio_key: str | None = None,
        item_id: str | None = None,
    ) -> HistoryItem:
        """Keep one item. With ``audio_key`` that blob is shared (``audio`` may be b"");
        otherwise ``audio`` is stored under ``history/{key_id}/{id}.{audio_format}``.
        ``item_id``: the id the audio's watermark already carries (None: a new one)."""
        item_id = item_id or new_id()
        if audio_key is None:
            audio_key = f"history/{key_id}/{item_id}.{audio_format}"
            await self._blobs.put(audio_key, audio)
            size = len(audio)
        else:
            size = len(audio) if audio else await self._blobs.size(audio_key)
        digest = None
        if self.hash_audio:
            digest = self._sha256(audio or await self._blobs.get(audio_key))
        async with self._sessions() as session:
            item = await queries.add_item(
                session,
                id=item_id,
                key_id=key_id,
                voice_id=voice_id,
                voice_name=voice_name,
                voice_deleted=False,
                text=text,
                lang=lang,
                params=dict(params or {}),
                backend=backend,
                entry=entry,
                job_id=job_id,
                source_id=source_id,
                audio_key=audio_key,
                audio_format=audio_format,
                audio_bytes=size,
                audio_sha256=digest,
                duration_s=round(duration_s, 3),
                characters=characters,
                cache_hit=cache_hit,
                starred=False,
                created_at=utcnow(),
            )
            await session.commit()
        return item

    def _sha256(self, audio: bytes | None) -> str | None:
        if not (self.hash_audio and audio):
            return None
        # A cache hit served from memory hands over the same bytes object each time.
        if self._last_hashed is not None and self._last_hashed[0] is audio:
            return self._last_hashed[1]
        digest = hashlib.sha256(audio).hexdigest()
        self._last_hashed = (audio, digest)
        return digest

    # --- reading -------------------------------------------------------------------------------

    async def get(self, *, key_id: str, history_id: str) -> HistoryItem:
        await self._pending.flush()
        async with self._sessions() as session:
            item = await queries.get_item(session, history_id=history_id, key_id=key_id)
        if item is None:
            raise NotFound(f"history item {history_id} not found", history_id=history_id)
        return item

    async def by_sha256(self, sha256: str) -> list[HistoryItem]:
        """Every key's items with these exact audio bytes (provenance; callers filter)."""
        await self._pending.flush()
        async with self._sessions() as session:
            return await queries.find_by_sha256(session, sha256=sha256)

    async def by_id_prefix(self, prefix: str) -> list[HistoryItem]:
        """Every key's items whose id starts with these 8 hex digits (the watermark's)."""
        await self._pending.flush()
        async with self._sessions() as session:
            return await queries.find_by_id_prefix(session, prefix=prefix)

    async def ensure_sha256(self, item: HistoryItem) -> str:
        """The item's audio SHA-256, computed from its blob and kept when it has none yet."""
        if item.audio_sha256:
            return item.audio_sha256
        digest = hashlib.sha256(await self._blobs.get(item.audio_key)).hexdigest()
        async with self._sessions() as session:
            await queries.set_sha256(session, history_id=item.id, sha256=digest)
            await session.commit()
        item.audio_sha256 = digest
        return digest

    async def audio(self, *, key_id: str, history_id: str) -> tuple[bytes, str]:
        item = await self.get(key_id=key_id, history_id=history_id)
        return await self._blobs.get(item.audio_key), item.audio_format

    async def page(
        self, *, key_id: str, filter: HistoryFilter, limit: int = 50, cursor: str | None = None
    ) -> HistoryPage:
        if not 1 <= limit <= 100:
            raise InvalidInput(f"limit {limit} is outside 1–100", field="limit")
        after = decode_cursor(cursor) if cursor else None
        await self._pending.flush()
        async with self._sessions() as session:
            items = await queries.list_items(
                session, key_id=key_id, filter=filter, limit=limit + 1, after=after
            )
        if len(items) <= limit:
            return HistoryPage(items, None)
        last = items[limit - 1]
        return HistoryPage(items[:limit], encode_cursor(last.created_at, last.id))

    async def many(self, *, key_id: str, ids: Sequence[str]) -> list[HistoryItem]:
        """The key's items among ``ids``; NotFound naming the first id that is not one."""
        await self._pending.flush()
        async with self._sessions() as session:
            items = await queries.get_items(session, key_id=key_id, ids=ids)
        missing = set(ids) - {item.id for item in items}
        if missing:
            first = next(i for i in ids if i in missing)
            raise NotFound(f"history item {first} not found", history_id=first)
        return items

    async def download(self, *, key_id: str, ids: Sequence[str]) -> AsyncIterator[bytes]:
        """The items' audio as one zip (with a manifest), streamed; every id must be the key's."""
        if len(set(ids)) > self.settings.max_zip_items:
            raise InvalidInput(
                f"{len(set(ids))} items asked for; one zip holds at most "
                f"{self.settings.max_zip_items}",
                field="ids",
            )
        items = await self.many(key_id=key_id, ids=ids)
        return zipped(items, blobs=self._blobs)

    # --- changing ------------------------------------------------------------------------------

    async def star(self, *, key_id: str, history_id: str, starred: bool) -> HistoryItem:
        await self.get(key_id=key_id, history_id=history_id)
        async with self._sessions() as session:
            await queries.set_starred(session, history_id=history_id, starred=starred)
            await session.commit()
        return await self.get(key_id=key_id, history_id=history_id)

    async def delete(self, *, key_id: str, ids: Sequence[str]) -> Deleted:
        """Delete the key's items among ``ids`` (NotFound if one is not the key's), except
        those a story clip uses; their blobs go unless something else still uses them."""
        items = await self.many(key_id=key_id, ids=ids)
        return await self.drop(items)

    async def drop(self, items: Sequence[HistoryItem]) -> Deleted:
        ids = [item.id for item in items]
        async with self._sessions() as session:
            in_use = await queries.used_by_stories(session, ids=ids)
            gone = [item for item in items if item.id not in in_use]
            await queries.delete_items(session, ids=[item.id for item in gone])
            await session.commit()
        await self.release({item.audio_key for item in gone})
        return Deleted([item.id for item in gone], [i for i in ids if i in in_use])

    async def release(self, blob_keys: set[str]) -> None:
        """Delete each blob nothing uses any more (the items held for a batch included)."""
        await self._pending.flush()
        for blob_key in sorted(blob_keys):
            async with self._sessions() as session:
                used = await queries.blob_in_use(session, audio_key=blob_key)
            if not used:
                await self._blobs.delete(blob_key)

    async def regenerate(self, *, caller: Principal, key_id: str, history_id: str) -> HistoryItem:
        """The item's synthesis again, same settings and a new seed, through the pipeline
        (admitted, metered, cached); the new item's ``source_id`` is this one."""
        item = await self.get(key_id=key_id, history_id=history_id)
        if item.voice_id is None or item.voice_deleted or not item.text:
            raise Conflict(
                f"history item {history_id} cannot be regenerated: it has no stored voice "
                "(a one-shot clone, an edit or a story), or its voice was deleted",
                history_id=history_id,
            )
        p = item.params
        seed = secrets.randbelow(2**31)
        while seed == p.get("seed"):
            seed = secrets.randbelow(2**31)
        req = SynthesisRequest(
            voice_id=item.voice_id,
            text=item.text,
            lang=item.lang,
            backend=item.backend or None,
            format=p.get("format", item.audio_format),
            sample_rate=p.get("sample_rate"),
            speed=p.get("speed", 1.0),
            seed=seed,
            temperature=p.get("temperature"),
        )
        result = await self._synthesis.synthesize_now(caller=caller, req=req, entry=REGENERATE)
        return await self.add(
            key_id=key_id,
            audio=result.data,
            audio_format=req.format,
            duration_s=result.duration_s,
            entry=REGENERATE,
            text=item.text,
            voice_id=item.voice_id,
            voice_name=item.voice_name,
            lang=item.lang,
            params=request_params(req),
            backend=result.backend,
            source_id=item.id,
            characters=len(item.text),
            cache_hit=result.cache_hit,
            audio_key=result.blob_key,
        )

    async def voice_deleted(self, voice: Voice, purge: bool) -> None:
        """Before ``voice`` and its blobs go: purge its items, or keep them (marked
        ``voice_deleted``) with their audio moved out of the voice's and its jobs' blobs
        (``history/{key_id}/``). Items a story clip uses are always kept."""
        await self._pending.flush()
        async with self._sessions() as session:
            items = await queries.list_for_voice(session, voice_id=voice.id)
            in_use = await queries.used_by_stories(session, ids=[i.id for i in items])
        if purge:
            await self.drop([item for item in items if item.id not in in_use])
            items = [item for item in items if item.id in in_use]
        moved: dict[str, str] = {}
        for item in items:
            if item.audio_key.startswith("history/") or item.audio_key in moved:
                continue
            new_key = f"history/{item.key_id}/{item.id}.{item.audio_format}"
            if await self._blobs.exists(item.audio_key):
                await self._blobs.put(new_key, await self._blobs.get(item.audio_key))
                moved[item.audio_key] = new_key
        async with self._sessions() as session:
            for old_key, new_key in moved.items():
                await queries.move_audio(session, old_key=old_key, new_key=new_key)
            await queries.mark_voice_deleted(session, voice_id=voice.id)
            await session.commit()


def request_params(req: SynthesisRequest) -> dict[str, Any]:
    return {
        "format": req.format,
        "sample_rate": req.sample_rate,
        "speed": req.speed,
        "seed": req.seed,
        "temperature": req.temperature,
    }
