"""Heavy slots: per key, in memory and on Redis (one count shared by every host)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests import peers

from voxclone.core.errors import TooManyHeavyRequests
from voxclone.services.heavy_slots import HeavySlots, MemorySlots, RedisSlots, SlotCounter


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[SlotCounter]:
    if request.param == "memory":
        yield MemorySlots()
        return
    slots = RedisSlots(peers.require_redis())
    yield slots
    await slots.close()


async def test_a_key_holds_at_most_its_limit(counter: SlotCounter) -> None:
    heavy = HeavySlots(limit=2, counter=counter)
    key, other = uuid.uuid4().hex, uuid.uuid4().hex
    async with heavy.hold(key, work="synthesis"), heavy.hold(key, work="synthesis"):
        with pytest.raises(TooManyHeavyRequests) as refused:
            async with heavy.hold(key, work="denoise"):
                pass
        assert refused.value.retry_after_s > 0
        assert refused.value.details["limit"] == 2
        assert "max_concurrent_heavy_per_key" in refused.value.message
        async with heavy.hold(other, work="synthesis"):  # another key has its own slots
            pass
    async with heavy.hold(key, work="synthesis"):  # released: room again
        pass


async def test_a_failed_block_gives_its_slot_back(counter: SlotCounter) -> None:
    heavy = HeavySlots(limit=1, counter=counter)
    key = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with heavy.hold(key, work="transcription"):
            raise RuntimeError("engine broke")
    async with heavy.hold(key, work="transcription"):
        pass


async def test_two_hosts_share_one_count_on_redis() -> None:
    url = peers.require_redis()
    first, second = RedisSlots(url), RedisSlots(url)
    try:
        key = uuid.uuid4().hex
        a, b = HeavySlots(limit=1, counter=first), HeavySlots(limit=1, counter=second)
        async with a.hold(key, work="synthesis"):
            with pytest.raises(TooManyHeavyRequests):
                async with b.hold(key, work="synthesis"):
                    pass
        async with b.hold(key, work="synthesis"):
            pass
    finally:
        await first.close()
        await second.close()


async def test_no_limit_for_zero_or_the_admin() -> None:
    heavy = HeavySlots(limit=0)
    async with heavy.hold("k", work="synthesis"), heavy.hold("k", work="synthesis"):
        pass
    limited = HeavySlots(limit=1)
    async with limited.hold(None, work="synthesis"), limited.hold(None, work="synthesis"):
        pass
