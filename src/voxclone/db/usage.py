"""Queries on usage events. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

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
