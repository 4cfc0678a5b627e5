"""Admit: whether a key may have what it asks for — its rate of requests, its characters this
billing period, its jobs at once. Refusals are errors the API turns into 402 and 429.

Rate limits count a moving window of one minute per key with the ``limits`` library: in this
process (embedded mode) or on Redis, so that every API host shares one budget per key.
Characters used come from ``UsageService.used_characters`` (the database, briefly cached).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import QuotaSettings
from voxclone.core.errors import KeyRateLimited, PermissionDenied, QuotaExceeded, TooManyJobs
from voxclone.db import jobs as job_queries
from voxclone.services.heavy_slots import HeavySlots
from voxclone.services.keys import Principal
from voxclone.services.usage import Period, UsageService, billing_period

JOB_RETRY_AFTER_S = 5.0
"""What ``Retry-After`` suggests to a key at its concurrency limit (a job's end is unknown)."""


@dataclass(frozen=True, slots=True)
class RateState:
    """Where a key stands in its rate window after this request."""

    limit: int
    remaining: int
    reset_unix: int
    """When the window has room again for as many requests as the limit (Unix seconds)."""

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_unix),
        }


def key_id_of(caller: Principal) -> str:
    """The caller's user key id; the admin key has none and may not synthesize."""
    if caller.key_id is None:
        raise PermissionDenied("the admin key manages keys only; use a user key")
    return caller.key_id


def open_rate_storage(quotas: QuotaSettings, redis_url: str | None) -> Storage:
    """Redis when asked for (or ``auto`` with a Redis URL), else this process's memory."""
    kind = quotas.rate_limit_storage
    if kind == "redis" or (kind == "auto" and redis_url):
        if not redis_url:
            raise ValueError("quotas.rate_limit_storage=redis needs VOXCLONE_REDIS_URL")
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(uri, implementation="redispy", key_prefix="voxclone-rate")
    return MemoryStorage()


class Admission:
    def __init__(
        self,
        *,
        usage: UsageService,
        sessions: async_sessionmaker[AsyncSession],
        quotas: QuotaSettings,
        rate_storage: Storage | None = None,
        heavy: HeavySlots | None = None,
    ) -> None:
        self.heavy = heavy or HeavySlots(limit=0)
        """Concurrent heavy requests per key (cache misses, transcriptions, denoises, fits)."""
        self._usage = usage
        self._sessions = sessions
        self._quotas = quotas
        self._limiter = MovingWindowRateLimiter(rate_storage or MemoryStorage())
        self._items: dict[int, RateLimitItemPerMinute] = {}

    # --- the limits of a key -----------------------------------------------------------------

    def quota_of(self, caller: Principal) -> int | None:
        if caller.monthly_char_quota is not None:
            return caller.monthly_char_quota
        return self._quotas.monthly_char_quota

    def rate_of(self, caller: Principal) -> int | None:
        if caller.rate_limit_per_minute is not None:
            return caller.rate_limit_per_minute
        return self._quotas.rate_limit_per_minute

    def concurrency_of(self, caller: Principal) -> int | None:
        if caller.max_concurrent_jobs is not None:
            return caller.max_concurrent_jobs
        return self._quotas.max_concurrent_jobs

    @staticmethod
    def period_of(caller: Principal, now: datetime | None = None) -> Period:
        return billing_period(
            period_start=caller.period_start, period_end=caller.period_end, now=now
        )

    # --- the checks ------------------------------------------------------------------------------

    async def check_rate(self, caller: Principal) -> RateState | None:
        """Count one request of the caller; KeyRateLimited when its window is full. None for
        the admin and for keys with no rate limit."""
        limit = self.rate_of(caller)
        if caller.key_id is None or limit is None:
            return None
        item = self._items.get(limit)
        if item is None:
            item = self._items.setdefault(limit, RateLimitItemPerMinute(limit))
        allowed = await self._limiter.hit(item, caller.key_id)
        stats = await self._limiter.get_window_stats(item, caller.key_id)
        state = RateState(limit, max(0, stats.remaining), math.ceil(stats.reset_time))
        if not allowed:
            retry_after = max(1.0, stats.reset_time - time.time())
            raise KeyRateLimited(
                f"this key may make {limit} requests a minute; try again in "
                f"{math.ceil(retry_after)} s",
                retry_after_s=retry_after,
                limit=limit,
                remaining=0,
                reset=state.reset_unix,
            )
        return state

    async def admit(self, caller: Principal, *, characters: int) -> None:
        """QuotaExceeded (402) when ``characters`` more would take the key past its quota for
        this billing period. A cache hit is not billed, but it is admitted the same way."""
        key_id = key_id_of(caller)
        quota = self.quota_of(caller)
        if quota is None:
            return
        period = self.period_of(caller)
        used = await self._usage.used_characters(key_id=key_id, period=period)
        if used + characters > quota:
            raise QuotaExceeded(
                f"this key's quota is {quota} characters per billing period; {used} are used "
                f"and this request needs {characters}. It resets at {period.end.isoformat()}",
                quota="monthly_char_quota",
                limit=quota,
                used=used,
                requested=characters,
                resets_at=period.end.isoformat(),
            )

    async def admit_job(self, caller: Principal) -> None:
        """TooManyJobs (429) when the key has as many jobs pending or running as it may."""
        key_id = key_id_of(caller)
        limit = self.concurrency_of(caller)
        if limit is None:
            return
        async with self._sessions() as session:
            running = await job_queries.count_unfinished_jobs(session, key_id=key_id)
        if running >= limit:
            raise TooManyJobs(
                f"this key may have {limit} jobs pending or running at once and has {running}; "
                "wait for one to end",
                retry_after_s=JOB_RETRY_AFTER_S,
                limit=limit,
                running=running,
            )
