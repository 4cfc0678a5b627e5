"""Queries on API keys. Flush, never commit (see ``voxclone.db``)."""

from __future__ import annotations

from typing import Any

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
    **fields: Any,
) -> ApiKey:
    """Add a key. ``key_hash`` is the SHA-256 hex of the full key (unique); ``fields`` are
    other columns of ``ApiKey`` (limits, billing window, Stripe ids)."""
    key = ApiKey(id=id, label=label, key_hash=key_hash, prefix=prefix, **fields)
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


async def update_key(session: AsyncSession, *, key_id: str, **fields: Any) -> ApiKey | None:
    """Set columns of the key (None clears one); None if there is no such key."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        return None
    for name, value in fields.items():
        setattr(key, name, value)
    await session.flush()
    return key


async def find_keys(
    session: AsyncSession,
    *,
    stripe_customer_id: str | None = None,
    stripe_subscription_id: str | None = None,
) -> list[ApiKey]:
    """Keys issued to a Stripe customer or subscription, revoked ones included."""
    query = select(ApiKey)
    if stripe_customer_id is not None:
        query = query.where(ApiKey.stripe_customer_id == stripe_customer_id)
    if stripe_subscription_id is not None:
        query = query.where(ApiKey.stripe_subscription_id == stripe_subscription_id)
    return list((await session.execute(query.order_by(ApiKey.created_at))).scalars())
