"""Concurrent heavy requests per key: a synthesis that misses the cache, a transcription, a
denoise, a voice fit each hold one of the key's ``limits.max_concurrent_heavy_per_key`` slots
while they work; one more is refused with 429 (``TooManyHeavyRequests``). Cache hits hold none.
A streamed synthesis holds its slot until its last piece is sent or the stream is dropped.

Slots are counted in this process, or on Redis (the rate limits' storage choice) so that every
API host shares one count per key. A Redis count expires ``REDIS_TTL_S`` after a key's last
acquisition, so a host that died holding slots cannot block its key for longer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from voxclone.config import QuotaSettings
from voxclone.core.errors import TooManyHeavyRequests

RETRY_AFTER_S = 1.0
"""What ``Retry-After`` suggests: heavy requests usually end within seconds."""
REDIS_TTL_S = 3600

Release = Callable[[], Coroutine[Any, Any, None]]
"""Gives a slot back; calling it again does nothing."""
T = TypeVar("T")
_releasing: set[asyncio.Task[None]] = set()


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
        release = await self.take(key_id, work=work)
        try:
            yield
        finally:
            await release()

    async def take(self, key_id: str | None, *, work: str) -> Release:
        """Take one of ``key_id``'s slots until the returned ``Release`` is awaited (for work
        that outlives a block: a stream)."""
        if key_id is None or self._limit <= 0:
            return _nothing
        if await self._counter.acquire(key_id, self._limit) is None:
            raise TooManyHeavyRequests(
                f"this key may run {self._limit} heavy requests at once (syntheses that miss "
                f"the cache, transcriptions, denoises, voice fits; limits.max_concurrent_heavy_"
                f"per_key) and this {work} would be one more; retry when one ends",
                retry_after_s=RETRY_AFTER_S,
                limit=self._limit,
                setting="limits.max_concurrent_heavy_per_key",
            )
        counter, released = self._counter, False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                await asyncio.shield(counter.release(key_id))

        return release

    async def close(self) -> None:
        close = getattr(self._counter, "close", None)
        if close is not None:
            await close()


async def _nothing() -> None:
    return None


def held_until_closed(pieces: AsyncGenerator[T, None], release: Release) -> AsyncGenerator[T, None]:
    """``pieces``, with ``release`` awaited when they end, fail or are closed; and, should the
    consumer drop them without ever starting them, when they are garbage-collected."""

    async def held() -> AsyncGenerator[T, None]:
        try:
            async for piece in pieces:
                yield piece
        finally:
            await pieces.aclose()
            await release()

    wrapper = held()
    loop = asyncio.get_running_loop()
    weakref.finalize(wrapper, _release_soon, loop, release).atexit = False
    return wrapper


def _release_soon(loop: asyncio.AbstractEventLoop, release: Release) -> None:
    def start() -> None:
        task = loop.create_task(release())
        _releasing.add(task)
        task.add_done_callback(_releasing.discard)

    if not loop.is_closed():
        loop.call_soon_threadsafe(start)
