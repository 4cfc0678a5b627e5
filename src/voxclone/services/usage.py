"""Usage metering: every billable act recorded once, and the characters a key has used.

An act with characters (a synthesis that rendered) is written before ``record`` returns, so a
crash after rendering loses no count; a job's act carries ``event_key`` ("job:<id>") and is
written once however often the job is retried. An act that costs no characters (a cache hit, a
speech-service call) is held in memory and written in a batch within ``flush_s``: that keeps a
database write off the cache-hit path, and a crash loses at most ``flush_s`` of request counts
that cost nothing (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.types import new_id
from voxclone.db import usage as usage_queries
from voxclone.db.tables import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One billable act (a row of ``usage_events``)."""

    key_id: str
    kind: str
    """tts, stt, denoise or biometrics."""
    entry: str
    """The way in: synthesize, sync, stream, job, ws, openai, oneshot, transcribe, ..."""
    backend: str = ""
    voice_id: str | None = None
    characters: int = 0
    audio_out_s: float = 0.0
    audio_in_s: float = 0.0
    cache_hit: bool = False
    requests: int = 1
    event_key: str | None = None
    """Idempotency: a second record with the same key is ignored ("job:<id>")."""


@dataclass(frozen=True, slots=True)
class Period:
    """A billing period, ``[start, end)``, in UTC."""

    start: datetime
    end: datetime


def billing_period(
    *, period_start: datetime | None, period_end: datetime | None, now: datetime | None = None
) -> Period:
    """The key's billing window (Stripe's current period) when ``now`` falls in it, else the
    calendar month (UTC) that holds ``now``."""
    now = now or utcnow()
    if period_start is not None and period_end is not None and period_start <= now < period_end:
        return Period(period_start, period_end)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


class UsageService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cache_s: float = 2.0,
        flush_s: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._cache_s = cache_s
        self._flush_s = flush_s
        # (key id, period start) -> (characters used, monotonic expiry)
        self._used: dict[tuple[str, datetime], tuple[int, float]] = {}
        self._buffer: list[dict[str, object]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()

    async def record(self, record: UsageRecord) -> None:
        """Record one act; see the module's docstring for when it is written."""
        row: dict[str, object] = {"id": new_id(), "created_at": utcnow(), **asdict(record)}
        if record.characters == 0 and record.event_key is None:
            self._buffer.append(row)
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self._flush_s, self._flush_later)
            return
        async with self._sessions() as session:
            if record.event_key is None:
                await usage_queries.add_events(session, rows=[row])
                inserted = True
            else:
                inserted = await usage_queries.add_event_once(session, row=row)
            await session.commit()
        if inserted and record.characters:
            self._add_used(record.key_id, record.characters)

    def _add_used(self, key_id: str, characters: int) -> None:
        for (cached_key, start), (used, expiry) in list(self._used.items()):
            if cached_key == key_id:
                self._used[(cached_key, start)] = (used + characters, expiry)

    async def used_characters(self, *, key_id: str, period: Period) -> int:
        """Characters billed to the key in the period: read at most every ``cache_s``, with
        this process's own records added at once."""
        cached = self._used.get((key_id, period.start))
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._sessions() as session:
            used = await usage_queries.characters_between(
                session, key_id=key_id, start=period.start, end=period.end
            )
        if len(self._used) > 10_000:
            self._used.clear()
        self._used[(key_id, period.start)] = (used, now + self._cache_s)
        return used

    def _flush_later(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        """Write the buffered acts now."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        try:
            async with self._sessions() as session:
                await usage_queries.add_events(session, rows=batch)
                await session.commit()
        except Exception:
            log.warning("could not write %d usage record(s)", len(batch), exc_info=True)

    async def close(self) -> None:
        """Write what is buffered; nothing is scheduled afterwards."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.flush()
