"""Queries on usage events. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, func, insert, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from voxclone.db.tables import UsageEvent


async def add_events(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (``UsageEvent`` columns, ``id`` included) without an ``event_key``."""
    if rows:
        await session.execute(insert(UsageEvent), list(rows))


async def add_event_once(session: AsyncSession, *, row: dict[str, Any]) -> bool:
    """Insert one event unless one with its ``event_key`` exists; True if it was inserted.

    Dialect-native ``ON CONFLICT DO NOTHING`` on both databases, so two workers recording the
    same job at once insert one row and neither fails.
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = (
        dialect_insert(UsageEvent)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["event_key"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def characters_between(
    session: AsyncSession, *, key_id: str, start: datetime, end: datetime
) -> int:
    """Characters billed to the key in ``[start, end)``."""
    query = select(func.coalesce(func.sum(UsageEvent.characters), 0)).where(
        UsageEvent.key_id == key_id,
        UsageEvent.created_at >= start,
        UsageEvent.created_at < end,
    )
    return int((await session.execute(query)).scalar_one())


GROUPS = ("day", "backend", "voice", "kind", "key")
"""What ``totals`` can group by: the UTC date, the engine, the voice, the kind of act, the key."""


class Totals(NamedTuple):
    """Sums over the events of one group (``group`` is None when not grouped)."""

    group: str | None
    characters: int
    audio_out_s: float
    audio_in_s: float
    requests: int
    cache_hits: int


def _utc_day(dialect: str) -> ColumnElement[str]:
    """``created_at``'s UTC date as ``YYYY-MM-DD`` text, on either database.

    SQLite stores the UTC wall-clock reading as text; PostgreSQL stores a ``timestamptz``,
    whose date depends on the session's time zone unless it is first read in UTC.
    """
    if dialect == "postgresql":
        utc = func.timezone("UTC", UsageEvent.created_at)
        return func.to_char(utc, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", UsageEvent.created_at)


def _group_column(group_by: str, dialect: str) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    columns: dict[str, InstrumentedAttribute[Any]] = {
        "backend": UsageEvent.backend,
        "voice": UsageEvent.voice_id,
        "kind": UsageEvent.kind,
        "key": UsageEvent.key_id,
    }
    if group_by == "day":
        return _utc_day(dialect)
    if group_by not in columns:
        raise ValueError(f"cannot group usage by {group_by!r}; use one of {', '.join(GROUPS)}")
    return columns[group_by]


async def totals(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    key_id: str | None = None,
    group_by: str | None = None,
) -> list[Totals]:
    """Sums over the events in ``[start, end)``, of one key or (``key_id`` None) every key.

    Ungrouped: one row, zeros when there is nothing. Grouped: one row per value that has
    events, ordered by it (None, events with no voice, first).
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    group = _group_column(group_by, dialect).label("grp") if group_by else None
    sums = (
        func.coalesce(func.sum(UsageEvent.characters), 0),
        func.coalesce(func.sum(UsageEvent.audio_out_s), 0.0),
        func.coalesce(func.sum(UsageEvent.audio_in_s), 0.0),
        func.coalesce(func.sum(UsageEvent.requests), 0),
        func.coalesce(
            func.sum(case((UsageEvent.cache_hit.is_(True), UsageEvent.requests), else_=0)), 0
        ),
    )
    query = select(group if group is not None else null(), *sums).where(
        UsageEvent.created_at >= start, UsageEvent.created_at < end
    )
    if key_id is not None:
        query = query.where(UsageEvent.key_id == key_id)
    if group is not None:
        query = query.group_by(group).order_by(group.asc().nulls_first())
    rows = (await session.execute(query)).all()
    return [
        Totals(
            group=None if row[0] is None else str(row[0]),
            characters=int(row[1]),
            audio_out_s=float(row[2]),
            audio_in_s=float(row[3]),
            requests=int(row[4]),
            cache_hits=int(row[5]),
        )
        for row in rows
    ]
