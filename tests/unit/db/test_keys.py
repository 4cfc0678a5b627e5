from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import new_id
from voxclone.db import keys


async def test_create_and_read_back(session: AsyncSession):
    key = await keys.create_key(
        session,
        id="k-1",
        label="alice",
        key_hash="a" * 64,
        prefix="vx_aaaa",
        rate_limit_per_minute=60,
        monthly_char_quota=100_000,
    )
    await session.commit()
    session.expunge_all()
    loaded = await keys.get_key(session, key_id="k-1")
    assert loaded is not None and loaded is not key
    assert (loaded.label, loaded.key_hash, loaded.prefix) == ("alice", "a" * 64, "vx_aaaa")
    assert (loaded.rate_limit_per_minute, loaded.monthly_char_quota) == (60, 100_000)
    assert loaded.created_at.tzinfo == UTC
    assert loaded.revoked_at is None


async def test_hashes_are_unique(session: AsyncSession, make_key):
    await make_key(key_hash="b" * 64)
    with pytest.raises(IntegrityError):
        await make_key(key_hash="b" * 64)


async def test_get_by_hash_hides_revoked_keys_unless_asked(session: AsyncSession, make_key):
    key = await make_key(key_hash="c" * 64)
    assert await keys.get_key_by_hash(session, key_hash="c" * 64) is key
    assert await keys.get_key_by_hash(session, key_hash="d" * 64) is None
    await keys.revoke_key(session, key_id=key.id)
    assert await keys.get_key_by_hash(session, key_hash="c" * 64) is None
    assert await keys.get_key_by_hash(session, key_hash="c" * 64, include_revoked=True) is key


async def test_get_key_returns_revoked_keys_too(session: AsyncSession, make_key):
    key = await make_key()
    await keys.revoke_key(session, key_id=key.id)
    assert await keys.get_key(session, key_id=key.id) is key
    assert await keys.get_key(session, key_id=new_id()) is None


async def test_list_keys_oldest_first_without_revoked(session: AsyncSession, make_key):
    first, second, third = [await make_key(label=str(i)) for i in range(3)]
    await keys.revoke_key(session, key_id=second.id)
    assert [k.id for k in await keys.list_keys(session)] == [first.id, third.id]
    everything = await keys.list_keys(session, include_revoked=True)
    assert [k.id for k in everything] == [first.id, second.id, third.id]


async def test_revoke_keeps_the_first_time_and_ignores_unknown_ids(session: AsyncSession, make_key):
    key = await make_key()
    revoked = await keys.revoke_key(session, key_id=key.id)
    assert revoked is key and key.revoked_at is not None
    first_time = key.revoked_at
    again = await keys.revoke_key(session, key_id=key.id)
    assert again is not None and again.revoked_at == first_time
    assert await keys.revoke_key(session, key_id=new_id()) is None
