"""Concurrent heavy requests per key: a synthesis that misses the cache, a transcription, a
denoise, a voice fit each hold one of the key's ``limits.max_concurrent_heavy_per_key`` slots
while they work; one more is refused with 429 (``TooManyHeavyRequests``). Cache hits hold none.

Slots are counted in this process, or on Redis (the rate limits' storage choice) so that every
API host shares one count per key. A Redis count expires ``REDIS_TTL_S`` after a key's last
acquisition, so a host that died holding slots cannot block its key for longer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from voxclone.config import QuotaSettings
from voxclone.core.errors import TooManyHeavyRequests

RETRY_AFTER_S = 1.0
"""What ``Retry-After`` suggests: heavy requests usually end within seconds."""
REDIS_TTL_S = 3600


class SlotCounter(Protocol):
    async def acquire(self, key_id: str, limit: int) -> int | None:
        """Take a slot: the count now held, or None (and nothing taken) when all are held."""

    async def release(self, key_id: str) -> None: ...


class MemorySlots:
    def __init__(self) -> None:
        self._held: dict[str, int] = {}

    async def acquire(self, key_id: str, limit: int) -> int | None:
        held = self._held.get(key_id, 0)
        if held >= limit:
            return None
        self._held[key_id] = held + 1
        return held + 1

    async def release(self, key_id: str) -> None:
        held = self._held.get(key_id, 0) - 1
        if held > 0:
            self._held[key_id] = held
        else:
            self._held.pop(key_id, None)


class RedisSlots:
    def __init__(self, redis_url: str) -> None:
        import redis.asyncio as redis

        self._client: Any = redis.Redis.from_url(redis_url)

    @staticmethod
    def _name(key_id: str) -> str:
        return f"voxclone-heavy:{key_id}"

    async def acquire(self, key_id: str, limit: int) -> int | None:
        name = self._name(key_id)
        async with self._client.pipeline(transaction=True) as pipe:
            held, _ = await pipe.incr(name).expire(name, REDIS_TTL_S).execute()
        if int(held) > limit:
            await self._client.decr(name)
            return None
        return int(held)

    async def release(self, key_id: str) -> None:
        name = self._name(key_id)
        if int(await self._client.decr(name)) <= 0:
            await self._client.delete(name)

    async def close(self) -> None:
        await self._client.aclose()


def open_slot_counter(quotas: QuotaSettings, redis_url: str | None) -> SlotCounter:
    """Redis where the rate limits count on Redis, else this process's memory."""
    kind = quotas.rate_limit_storage
    if kind == "redis" or (kind == "auto" and redis_url):
        if not redis_url:
            raise ValueError("quotas.rate_limit_storage=redis needs VOXCLONE_REDIS_URL")
        return RedisSlots(redis_url)
    return MemorySlots()


class HeavySlots:
    def __init__(self, *, limit: int, counter: SlotCounter | None = None) -> None:
        self._limit = limit
        self._counter = counter or MemorySlots()

    @property
    def limit(self) -> int:
        return self._limit

    @asynccontextmanager
    async def hold(self, key_id: str | None, *, work: str) -> AsyncIterator[None]:
        """Hold one of ``key_id``'s slots while the block runs. No limit for the admin (no key
        id) or when the limit is 0."""
        if key_id is None or self._limit <= 0:
            yield
            return
        if await self._counter.acquire(key_id, self._limit) is None:
            raise TooManyHeavyRequests(
                f"this key may run {self._limit} heavy requests at once (syntheses that miss "
                f"the cache, transcriptions, denoises, voice fits; limits.max_concurrent_heavy_"
                f"per_key) and this {work} would be one more; retry when one ends",
                retry_after_s=RETRY_AFTER_S,
                limit=self._limit,
                setting="limits.max_concurrent_heavy_per_key",
            )
        try:
            yield
        finally:
            await asyncio.shield(self._counter.release(key_id))

    async def close(self) -> None:
        close = getattr(self._counter, "close", None)
        if close is not None:
            await close()
