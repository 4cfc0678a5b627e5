"""Usage metering: every billable act recorded once, and the characters a key has used.

An act of a request (a synthesis served, a cache hit, a speech-service call) is held in memory
and written in a batch within ``flush_s`` (at once when ``max_rows`` are held): a database
write per request would cost as much as the rest of a gateway's work. Its characters count
against the key's quota in this process at once, and every read of usage (a summary, the
quota's count when its cache expires) writes what is held first. Closing writes what is held,
and a batch that fails is kept for the next; a crash loses at most ``flush_s`` of acts. A job's
act carries ``event_key`` ("job:<id>") and is written before ``record`` returns, once however
often the job is retried (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import Unprocessable
from voxclone.core.types import new_id
from voxclone.db import usage as usage_queries
from voxclone.db.tables import utcnow
from voxclone.services.keys import Principal

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


_RECORD_FIELDS = tuple(f.name for f in fields(UsageRecord))
MAX_HELD = 100_000
"""The most acts kept in memory while the database cannot be written; the oldest go first."""


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


GROUPS = usage_queries.GROUPS
"""What a summary can group by: day (UTC), backend, voice, kind, key."""
USER_GROUPS = tuple(g for g in GROUPS if g != "key")
"""What a user key's own summary can group by."""
MAX_RANGE = timedelta(days=366)
"""The longest range one summary covers."""


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """What a set of acts cost. A cache hit costs no characters but counts as a request."""

    characters: int = 0
    audio_out_s: float = 0.0
    audio_in_s: float = 0.0
    requests: int = 0
    cache_hits: int = 0


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The totals of one day (``YYYY-MM-DD``, UTC), backend, voice (None: no voice, as in
    speech services), kind or key."""

    value: str | None
    totals: UsageTotals


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """A key's characters in its current billing period, against its quota."""

    period: Period
    quota: int | None
    """The key's own quota, else the server's default; None: unlimited."""
    used: int
    left: int | None
    """None: unlimited; never below 0."""

    @property
    def resets_at(self) -> datetime:
        return self.period.end


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Usage over ``[start, end)`` of one key (``key_id``) or every key (None)."""

    key_id: str | None
    start: datetime
    end: datetime
    totals: UsageTotals
    groups: dict[str, list[UsageGroup]] = field(default_factory=dict)
    """Per requested grouping (``"day"``, ``"backend"``, ...), the groups that have acts."""
    quota: QuotaStatus | None = None
    """For a user key's own summary: where its current billing period stands."""


class UsageService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cache_s: float = 2.0,
        flush_s: float = 1.0,
        max_rows: int = 500,
        default_char_quota: int | None = None,
    ) -> None:
        self._sessions = sessions
        self._default_char_quota = default_char_quota
        self._cache_s = cache_s
        self._flush_s = flush_s
        self._max_rows = max_rows
        # (key id, period start) -> (characters used, monotonic expiry)
        self._used: dict[tuple[str, datetime], tuple[int, float]] = {}
        self._buffer: list[dict[str, object]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closed = False

    async def record(self, record: UsageRecord) -> None:
        """Record one act; see the module's docstring for when it is written."""
        row: dict[str, object] = {"id": new_id(), "created_at": utcnow()}
        for name in _RECORD_FIELDS:  # scalars: no deep copy as ``asdict`` makes (hot path)
            row[name] = getattr(record, name)
        if record.event_key is None:
            self._buffer.append(row)
            if record.characters:
                self._add_used(record.key_id, record.characters)
            if len(self._buffer) >= self._max_rows:
                self._flush_later()
            elif self._timer is None and not self._closed:
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
        await self._write_held()
        async with self._sessions() as session:
            used = await usage_queries.characters_between(
                session, key_id=key_id, start=period.start, end=period.end
            )
        if len(self._used) > 10_000:
            self._used.clear()
        self._used[(key_id, period.start)] = (used, now + self._cache_s)
        return used

    async def summary(
        self,
        *,
        key: Principal | None = None,
        key_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: Sequence[str] = (),
        now: datetime | None = None,
    ) -> UsageSummary:
        """Totals over ``[start, end)``, and per ``group_by`` (each one of ``GROUPS``).

        With ``key`` (a user key asking about itself): that key's acts, by default over its
        current billing period, with its quota. Without: every key's acts (or ``key_id``'s),
        by default over the calendar month. This process's buffered acts are written first,
        so the answer includes every act recorded here before the call.
        """
        now = now or utcnow()
        if key is not None:
            if key.key_id is None:
                raise ValueError("summary(key=...) needs a user key, not the admin key")
            key_id = key.key_id
            period = billing_period(
                period_start=key.period_start, period_end=key.period_end, now=now
            )
        else:
            period = billing_period(period_start=None, period_end=None, now=now)
        start = start or period.start
        end = end or period.end
        _check_range(start, end)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        unknown = [g for g in group_by if g not in GROUPS]
        if unknown:
            raise Unprocessable(
                f"group_by {unknown[0]!r} is not one of {', '.join(GROUPS)}",
                field="group_by",
                supported=list(GROUPS),
            )
        await self._write_held()
        async with self._sessions() as session:
            [total] = await usage_queries.totals(session, start=start, end=end, key_id=key_id)
            groups = {
                name: [
                    UsageGroup(row.group, _totals(row))
                    for row in await usage_queries.totals(
                        session, start=start, end=end, key_id=key_id, group_by=name
                    )
                ]
                for name in dict.fromkeys(group_by)
            }
            quota = None
            if key is not None and key_id is not None:
                used = (
                    total.characters
                    if (start, end) == (period.start, period.end)
                    else await usage_queries.characters_between(
                        session, key_id=key_id, start=period.start, end=period.end
                    )
                )
                quota = self._quota_status(key, period=period, used=used)
        return UsageSummary(
            key_id=key_id,
            start=start,
            end=end,
            totals=_totals(total),
            groups=groups,
            quota=quota,
        )

    def _quota_status(self, key: Principal, *, period: Period, used: int) -> QuotaStatus:
        limit = key.monthly_char_quota
        if limit is None:
            limit = self._default_char_quota
        left = None if limit is None else max(limit - used, 0)
        return QuotaStatus(period=period, quota=limit, used=used, left=left)

    async def _write_held(self) -> None:
        """Write what this process holds: a batch being written now, and the buffer."""
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.flush()

    def _flush_later(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        """Write the buffered acts now (after a batch already being written). A batch that
        cannot be written is kept, ahead of newer acts, and tried again within ``flush_s``."""
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return
            try:
                async with self._sessions() as session:
                    await usage_queries.add_events(session, rows=batch)
                    await session.commit()
            except Exception:
                log.warning("could not write %d usage record(s)", len(batch), exc_info=True)
                self._buffer[:0] = batch
                if len(self._buffer) > MAX_HELD:
                    lost = len(self._buffer) - MAX_HELD
                    del self._buffer[:lost]
                    log.error("%d usage record(s) dropped: the database is unwritable", lost)
                if self._timer is None and not self._closed:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(self._flush_s, self._flush_later)

    async def close(self) -> None:
        """Write what is buffered; nothing is scheduled afterwards."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.flush()
        if self._buffer:
            log.error("%d usage record(s) could not be written and are lost", len(self._buffer))


def _totals(row: usage_queries.Totals) -> UsageTotals:
    return UsageTotals(
        characters=row.characters,
        audio_out_s=round(row.audio_out_s, 3),
        audio_in_s=round(row.audio_in_s, 3),
        requests=row.requests,
        cache_hits=row.cache_hits,
    )


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a usage range needs aware datetimes")
    if start >= end:
        raise Unprocessable(
            f"from ({start.isoformat()}) must be before to ({end.isoformat()})",
            field="from",
        )
    if end - start > MAX_RANGE:
        raise Unprocessable(
            f"a usage range may cover at most {MAX_RANGE.days} days, not {(end - start).days}",
            field="to",
            max_days=MAX_RANGE.days,
        )


def parse_bound(value: str | None, *, field: str, end: bool = False) -> datetime | None:
    """An ISO-8601 date (midnight UTC; as an end, the midnight after it) or datetime (UTC
    unless it has an offset)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Unprocessable(
            f"{field} must be an ISO-8601 date or datetime (2026-12-01 or "
            f"2026-12-01T09:30:00Z), got {value!r}",
            field=field,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_groups(
    value: str | None, *, allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    """Groupings named in ``value`` (one, or several comma-separated), each in ``allowed``."""
    if value is None or not value.strip():
        return default
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [g for g in chosen if g not in allowed]
    if unknown or not chosen:
        raise Unprocessable(
            f"group_by {value!r} is not one of {', '.join(allowed)} (or several, comma-separated)",
            field="group_by",
            supported=list(allowed),
        )
    return chosen
