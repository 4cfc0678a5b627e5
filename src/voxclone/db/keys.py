"""Queries on API keys. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import ApiKey, utcnow


async def create_key(
    session: AsyncSession,
    *,
    id: str,
    label: str,
    key_hash: str,
    prefix: str,
    rate_limit_per_minute: int | None = None,
    monthly_char_quota: int | None = None,
) -> ApiKey:
    """Add a key. ``key_hash`` is the SHA-256 hex of the full key (unique)."""
    key = ApiKey(
        id=id,
        label=label,
        key_hash=key_hash,
        prefix=prefix,
        rate_limit_per_minute=rate_limit_per_minute,
        monthly_char_quota=monthly_char_quota,
    )
    session.add(key)
    await session.flush()
    return key


async def get_key_by_hash(
    session: AsyncSession, *, key_hash: str, include_revoked: bool = False
) -> ApiKey | None:
    """The key with this hash; a revoked key reads as missing unless ``include_revoked``."""
    query = select(ApiKey).where(ApiKey.key_hash == key_hash)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def get_key(session: AsyncSession, *, key_id: str) -> ApiKey | None:
    """The key with this id, revoked or not."""
    return await session.get(ApiKey, key_id)


async def list_keys(session: AsyncSession, *, include_revoked: bool = False) -> list[ApiKey]:
    """Keys, oldest first; revoked ones only with ``include_revoked``."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list((await session.execute(query)).scalars())


async def revoke_key(session: AsyncSession, *, key_id: str) -> ApiKey | None:
    """Mark the key revoked (keeping the first revocation time); None if there is no such key."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key
