"""Usage-event queries on SQLite and PostgreSQL: sums over a range, grouped, and idempotency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.core.types import new_id
from voxclone.db import usage
from voxclone.db.tables import ApiKey

DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def event(key_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": new_id(),
        "event_key": None,
        "key_id": key_id,
        "kind": "tts",
        "entry": "sync",
        "voice_id": None,
        "backend": "fake",
        "characters": 0,
        "audio_out_s": 0.0,
        "audio_in_s": 0.0,
        "cache_hit": False,
        "requests": 1,
        "created_at": at,
    }
    row.update(fields)
    return row


@pytest.fixture
async def keys(make_key: Callable[..., Awaitable[ApiKey]], session: AsyncSession) -> list[str]:
    ids = [(await make_key()).id for _ in range(2)]
    await session.commit()
    return ids


async def test_totals_sum_one_key_over_a_half_open_range(
    session: AsyncSession, keys: list[str]
) -> None:
    alice, bob = keys
    await usage.add_events(
        session,
        rows=[
            event(alice, DEC_1, characters=11, audio_out_s=1.25),
            event(alice, DEC_1 + timedelta(hours=30), characters=5, cache_hit=True),
            event(alice, DEC_1 + timedelta(hours=31), kind="stt", audio_in_s=2.5),
            event(alice, DEC_1 - timedelta(microseconds=1), characters=1000),  # before
            event(alice, DEC_1 + timedelta(days=31), characters=1000),  # at the end: out
            event(bob, DEC_1 + timedelta(hours=1), characters=7),
        ],
    )
    await session.commit()
    end = DEC_1 + timedelta(days=31)

    [mine] = await usage.totals(session, start=DEC_1, end=end, key_id=alice)
    assert mine == usage.Totals(None, 16, 1.25, 2.5, 3, 1)
    [everyone] = await usage.totals(session, start=DEC_1, end=end)
    assert (everyone.characters, everyone.requests) == (23, 4)
    [nothing] = await usage.totals(session, start=end, end=end + timedelta(days=1), key_id=bob)
    assert nothing == usage.Totals(None, 0, 0.0, 0.0, 0, 0)


async def test_totals_group_by_utc_day_backend_voice_kind_and_key(
    session: AsyncSession, keys: list[str]
) -> None:
    alice, bob = keys
    late_evening_in_new_york = datetime(2026, 12, 1, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    await usage.add_events(
        session,
        rows=[
            event(alice, DEC_1 + timedelta(hours=1), characters=3, voice_id="v1"),
            event(alice, DEC_1 + timedelta(hours=23), characters=4, voice_id="v1"),
            event(alice, late_evening_in_new_york, characters=5, backend="kokoro"),  # Dec 2 UTC
            event(bob, DEC_1 + timedelta(hours=2), kind="denoise", backend="deepfilternet"),
        ],
    )
    await session.commit()
    end = DEC_1 + timedelta(days=7)

    def by(rows: list[usage.Totals]) -> dict[str | None, tuple[int, int]]:
        return {r.group: (r.characters, r.requests) for r in rows}

    days = await usage.totals(session, start=DEC_1, end=end, key_id=alice, group_by="day")
    assert by(days) == {"2026-12-01": (7, 2), "2026-12-02": (5, 1)}
    backends = await usage.totals(session, start=DEC_1, end=end, group_by="backend")
    assert by(backends) == {"deepfilternet": (0, 1), "fake": (7, 2), "kokoro": (5, 1)}
    voices = await usage.totals(session, start=DEC_1, end=end, key_id=alice, group_by="voice")
    assert [r.group for r in voices] == [None, "v1"]
    assert by(voices) == {None: (5, 1), "v1": (7, 2)}
    kinds = await usage.totals(session, start=DEC_1, end=end, group_by="kind")
    assert by(kinds) == {"denoise": (0, 1), "tts": (12, 3)}
    per_key = await usage.totals(session, start=DEC_1, end=end, group_by="key")
    assert by(per_key) == {alice: (12, 3), bob: (0, 1)}
    with pytest.raises(ValueError, match="cannot group usage by 'colour'"):
        await usage.totals(session, start=DEC_1, end=end, group_by="colour")


async def test_an_event_key_is_inserted_once(session: AsyncSession, keys: list[str]) -> None:
    alice, _ = keys
    first = event(alice, DEC_1, event_key="job:1", audio_in_s=3.0, kind="biometrics")
    assert await usage.add_event_once(session, row=first)
    assert not await usage.add_event_once(session, row={**first, "id": new_id()})
    await session.commit()
    [total] = await usage.totals(session, start=DEC_1, end=DEC_1 + timedelta(days=1))
    assert (total.requests, total.audio_in_s) == (1, 3.0)
