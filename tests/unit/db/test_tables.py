"""``UtcDateTime``: every stored time is UTC, and comes back aware, on SQLite too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db import keys


async def test_times_in_other_zones_are_stored_as_the_same_instant(session: AsyncSession, make_key):
    key = await make_key()
    berlin = timezone(timedelta(hours=2))
    key.revoked_at = datetime(2026, 5, 1, 14, 0, tzinfo=berlin)
    await session.commit()
    session.expunge_all()
    loaded = await keys.get_key(session, key_id=key.id)
    assert loaded is not None
    assert loaded.revoked_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert loaded.revoked_at.tzinfo == UTC


async def test_naive_times_are_refused(session: AsyncSession, make_key):
    key = await make_key()
    key.revoked_at = datetime(2026, 5, 1, 12, 0)  # naive on purpose
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()
