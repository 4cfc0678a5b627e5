"""Queries on voices and their per-engine prompts. Flush, never commit (see ``voxclone.db``).

Every voice belongs to one API key; the functions that take ``key_id`` never return, change
or delete another key's voice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.errors import NotFound
from voxclone.core.types import VoiceStatus
from voxclone.db.tables import CacheEntry, Voice, VoicePrompt, utcnow

UPDATABLE_VOICE_FIELDS = frozenset(
    {
        "name",
        "backend",
        "lang",
        "family",
        "ref_text",
        "ref_text_auto",
        "ref_audio_key",
        "ref_format",
        "ref_duration_s",
        "ref_sample_rate",
        "status",
        "progress",
        "error",
        "meta",
        "description",
        "tags",
        "labels",
    }
)
"""What ``update_voice`` may change (never the id, the owner or the creation time)."""


async def create_voice(
    session: AsyncSession,
    *,
    id: str,
    key_id: str,
    name: str,
    backend: str,
    ref_audio_key: str,
    ref_format: str,
    ref_duration_s: float,
    ref_sample_rate: int,
    lang: str = "en",
    family: str | None = None,
    ref_text: str | None = None,
    ref_text_auto: bool = False,
    status: VoiceStatus = VoiceStatus.READY,
    progress: float = 1.0,
    error: str | None = None,
    meta: dict[str, Any] | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    labels: dict[str, str] | None = None,
) -> Voice:
    voice = Voice(
        id=id,
        key_id=key_id,
        name=name,
        backend=backend,
        lang=lang,
        family=family,
        ref_text=ref_text,
        ref_text_auto=ref_text_auto,
        ref_audio_key=ref_audio_key,
        ref_format=ref_format,
        ref_duration_s=ref_duration_s,
        ref_sample_rate=ref_sample_rate,
        status=VoiceStatus(status).value,
        progress=progress,
        error=error,
        meta=dict(meta or {}),
        description=description,
        tags=list(tags or []),
        labels=dict(labels or {}),
    )
    session.add(voice)
    await session.flush()
    return voice


async def get_voice(session: AsyncSession, *, voice_id: str, key_id: str) -> Voice | None:
    """The voice if it exists and belongs to ``key_id``; otherwise None."""
    voice = await session.get(Voice, voice_id)
    if voice is None or voice.key_id != key_id:
        return None
    return voice


async def get_voice_by_id(session: AsyncSession, *, voice_id: str) -> Voice | None:
    """The voice with this id, whoever owns it: for workers, never for answering a request."""
    result = await session.execute(
        select(Voice).where(Voice.id == voice_id).execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def get_voice_by_name(session: AsyncSession, *, name: str, key_id: str) -> Voice | None:
    """The newest of ``key_id``'s voices called ``name`` (names need not be unique)."""
    query = (
        select(Voice)
        .where(Voice.key_id == key_id, Voice.name == name)
        .order_by(Voice.created_at.desc(), Voice.id)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_voices(
    session: AsyncSession, *, key_id: str, limit: int = 100, offset: int = 0
) -> list[Voice]:
    """``key_id``'s voices, newest first."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative, got {limit=} {offset=}")
    query = (
        select(Voice)
        .where(Voice.key_id == key_id)
        .order_by(Voice.created_at.desc(), Voice.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def update_voice(session: AsyncSession, *, voice: Voice, **changes: Any) -> Voice:
    """Set the given fields (names from ``UPDATABLE_VOICE_FIELDS``) and return the voice.

    ``voice`` may come from another, closed session: only ``changes`` are written, onto the
    row as it is now, and the returned object is this session's up-to-date copy. Raises
    TypeError for a field that cannot change, NotFound if the voice no longer exists.
    ``updated_at`` moves when something changed.
    """
    unknown = set(changes) - UPDATABLE_VOICE_FIELDS
    if unknown:
        raise TypeError(f"update_voice() cannot change {sorted(unknown)}")
    if "status" in changes:
        changes["status"] = VoiceStatus(changes["status"]).value
    current = voice if voice in session else await session.get(Voice, voice.id)
    if current is None:
        raise NotFound(f"voice {voice.id} not found", voice_id=voice.id)
    for field, value in changes.items():
        setattr(current, field, value)
    await session.flush()
    return current


async def delete_voice(session: AsyncSession, *, voice: Voice) -> bool:
    """Delete the voice; its prompts and jobs go with it (ON DELETE CASCADE), and its cache
    entries are deleted here (the cache's ``voice_id`` has no foreign key: stock voices have
    no row).

    Look the voice up owner-scoped first (``get_voice``); it may come from another session.
    Returns False when the row was already gone. Blobs are the caller's business: collect
    ``ref_audio_key``, ``jobs.list_job_audio_keys`` and the cache entries' audio first.
    """
    await session.execute(delete(CacheEntry).where(CacheEntry.voice_id == voice.id))
    statement = delete(Voice).where(Voice.id == voice.id)
    options = {"synchronize_session": "fetch"}
    result = cast(CursorResult[Any], await session.execute(statement, execution_options=options))
    return result.rowcount > 0


async def get_prompt(session: AsyncSession, *, voice_id: str, engine: str) -> VoicePrompt | None:
    return await session.get(VoicePrompt, (voice_id, engine))


async def put_prompt(
    session: AsyncSession,
    *,
    voice_id: str,
    engine: str,
    engine_version: str,
    prompt: dict[str, Any],
) -> VoicePrompt:
    """Store the voice prompt of ``engine`` for the voice, replacing an older one (upsert)."""
    values = {
        "voice_id": voice_id,
        "engine": engine,
        "engine_version": engine_version,
        "prompt": prompt,
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(VoicePrompt).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[VoicePrompt.voice_id, VoicePrompt.engine],
        set_={
            "engine_version": statement.excluded.engine_version,
            "prompt": statement.excluded.prompt,
            "created_at": statement.excluded.created_at,
        },
    )
    await session.execute(statement, execution_options={"synchronize_session": False})
    stored = await session.get(VoicePrompt, (voice_id, engine), populate_existing=True)
    assert stored is not None
    return stored


async def delete_prompts(
    session: AsyncSession, *, voice_id: str, keep_engine: str | None = None
) -> int:
    """Forget every engine's prompt for the voice (after its reference changed), but
    ``keep_engine``'s when given (a fitted prompt that serves until its refit lands)."""
    statement = delete(VoicePrompt).where(VoicePrompt.voice_id == voice_id)
    if keep_engine is not None:
        statement = statement.where(VoicePrompt.engine != keep_engine)
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount


async def lock_voice(session: AsyncSession, *, voice_id: str) -> Voice | None:
    """The voice with this id as it is now, locked for this transaction (``FOR UPDATE`` on
    PostgreSQL; SQLite has one writer at a time anyway), for read-modify-write of ``meta``."""
    query = (
        select(Voice)
        .where(Voice.id == voice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


VOICE_SORTS = ("created_at", "name")


async def search_voices(
    session: AsyncSession,
    *,
    key_id: str,
    tags: Sequence[str] = (),
    search: str | None = None,
    sort: str = "created_at",
    descending: bool = True,
    after: tuple[Any, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Voice]:
    """``key_id``'s voices that carry every tag of ``tags`` and whose name contains ``search``
    (case-insensitively), ordered by ``sort`` (``created_at``, or ``name`` case-insensitively)
    then id, in one direction; ``after`` is the (sort value, id) of the last voice of the
    previous page (its ``created_at``, or its name as it is), for keyset pagination."""
    if sort not in VOICE_SORTS:
        raise ValueError(f"sort must be one of {VOICE_SORTS}, got {sort!r}")
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative, got {limit=} {offset=}")
    column: Any = Voice.created_at if sort == "created_at" else func.lower(Voice.name)
    query = select(Voice).where(Voice.key_id == key_id)
    for tag in tags:
        query = query.where(_has_tag(session, tag))
    if search:
        query = query.where(func.lower(Voice.name).contains(search.lower(), autoescape=True))
    if after is not None:
        value, last_id = after
        if sort == "name":
            value = func.lower(value)  # lowered as the column is, by the database
        if descending:
            query = query.where(or_(column < value, and_(column == value, Voice.id < last_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, Voice.id > last_id)))
    if descending:
        query = query.order_by(column.desc(), Voice.id.desc())
    else:
        query = query.order_by(column.asc(), Voice.id.asc())
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


def _has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    """``voices.tags`` (a JSON list) holds ``tag``, exactly."""
    if session.get_bind().dialect.name == "postgresql":
        return sql_cast(Voice.tags, JSONB).contains([tag])
    each = func.json_each(Voice.tags).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == tag))
