"""UsageService: summaries equal what was recorded, over the key's billing period, on SQLite
and PostgreSQL; an act keyed by a job is counted once; buffered acts show up at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import fake_registry, make_settings

from voxclone.core.errors import Unprocessable
from voxclone.core.types import new_id
from voxclone.db import usage as usage_queries
from voxclone.services.container import Services, build_services
from voxclone.services.keys import Principal
from voxclone.services.usage import (
    Period,
    UsageGroup,
    UsageRecord,
    UsageTotals,
    billing_period,
)


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> AsyncIterator[Services]:
    svc = build_services(
        make_settings(
            tmp_path / "data",
            database_url=database_url,
            quotas={"monthly_char_quota": 1000},
        ),
        engines=fake_registry(),
    )
    await svc.start(run_jobs=False)
    yield svc
    await svc.close()


async def new_key(services: Services) -> str:
    return (await services.keys.create()).record.id


async def plant(services: Services, key_id: str, at: datetime, **fields: object) -> None:
    """An act recorded at ``at`` (``record`` stamps the time of the call)."""
    row: dict[str, object] = {
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
        **fields,
    }
    async with services.sessions() as session:
        await usage_queries.add_events(session, rows=[row])
        await session.commit()


async def test_a_summary_equals_what_was_recorded(services: Services) -> None:
    alice, bob = await new_key(services), await new_key(services)
    voice = new_id()
    usage = services.usage
    await usage.record(
        UsageRecord(
            key_id=alice,
            kind="tts",
            entry="sync",
            backend="kokoro",
            voice_id=voice,
            characters=120,
            audio_out_s=2.5,
        )
    )
    await usage.record(
        UsageRecord(
            key_id=alice,
            kind="tts",
            entry="sync",
            backend="kokoro",
            voice_id=voice,
            audio_out_s=2.5,
            cache_hit=True,
        )
    )
    await usage.record(
        UsageRecord(key_id=alice, kind="stt", entry="openai", backend="whisper", audio_in_s=3.25)
    )
    await usage.record(
        UsageRecord(
            key_id=alice,
            kind="denoise",
            entry="file",
            backend="deepfilternet",
            audio_in_s=1.5,
            audio_out_s=1.5,
        )
    )
    await usage.record(UsageRecord(key_id=bob, kind="tts", entry="sync", characters=999))

    summary = await usage.summary(
        key=Principal(key_id=alice), group_by=("backend", "day", "voice", "kind")
    )

    assert summary.key_id == alice
    assert summary.totals == UsageTotals(
        characters=120, audio_out_s=6.5, audio_in_s=4.75, requests=4, cache_hits=1
    )
    today = datetime.now(UTC).date().isoformat()
    assert summary.groups["day"] == [UsageGroup(today, summary.totals)]
    assert summary.groups["backend"] == [
        UsageGroup("deepfilternet", UsageTotals(0, 1.5, 1.5, 1, 0)),
        UsageGroup("kokoro", UsageTotals(120, 5.0, 0.0, 2, 1)),
        UsageGroup("whisper", UsageTotals(0, 0.0, 3.25, 1, 0)),
    ]
    assert summary.groups["voice"] == [
        UsageGroup(None, UsageTotals(0, 1.5, 4.75, 2, 0)),
        UsageGroup(voice, UsageTotals(120, 5.0, 0.0, 2, 1)),
    ]
    assert [g.value for g in summary.groups["kind"]] == ["denoise", "stt", "tts"]
    assert summary.quota is not None
    assert summary.quota.period == billing_period(period_start=None, period_end=None)
    assert (summary.quota.quota, summary.quota.used, summary.quota.left) == (1000, 120, 880)
    assert summary.quota.resets_at == summary.end

    everyone = await usage.summary(group_by=("key",))
    assert everyone.key_id is None and everyone.quota is None
    assert everyone.totals.characters == 1119
    assert {g.value: g.totals.characters for g in everyone.groups["key"]} == {
        alice: 120,
        bob: 999,
    }
    only_bob = await usage.summary(key_id=bob)
    assert only_bob.totals == UsageTotals(characters=999, requests=1)


async def test_the_period_is_the_keys_billing_window_else_the_calendar_month(
    services: Services,
) -> None:
    key_id = await new_key(services)
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    window = Period(datetime(2026, 3, 10, 8, tzinfo=UTC), datetime(2026, 4, 10, 8, tzinfo=UTC))
    await plant(services, key_id, datetime(2026, 3, 2, tzinfo=UTC), characters=50)
    await plant(services, key_id, window.start, characters=7)
    await plant(services, key_id, datetime(2026, 4, 1, tzinfo=UTC), characters=3)
    await plant(services, key_id, window.end, characters=10_000)  # the next period

    billed = Principal(
        key_id=key_id,
        monthly_char_quota=20,
        period_start=window.start,
        period_end=window.end,
    )
    summary = await services.usage.summary(key=billed, now=now)
    assert (summary.start, summary.end) == (window.start, window.end)
    assert summary.totals.characters == 10
    assert summary.quota is not None
    assert (summary.quota.quota, summary.quota.used, summary.quota.left) == (20, 10, 10)
    assert summary.quota.resets_at == window.end

    month = await services.usage.summary(key=Principal(key_id=key_id), now=now)
    assert (month.start, month.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert month.totals.characters == 57
    assert month.quota is not None and month.quota.quota == 1000  # the server's default

    # a window that has ended: the calendar month again
    lapsed = Principal(key_id=key_id, period_start=window.start, period_end=window.end)
    later = await services.usage.summary(key=lapsed, now=datetime(2026, 5, 3, tzinfo=UTC))
    assert later.start == datetime(2026, 5, 1, tzinfo=UTC)

    # another range: totals over it, the quota still over the current period
    march = await services.usage.summary(
        key=billed,
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
        now=now,
    )
    assert march.totals.characters == 57
    assert march.quota is not None and march.quota.used == 10


async def test_an_act_keyed_by_a_job_is_counted_once(services: Services) -> None:
    key_id = await new_key(services)
    act = UsageRecord(
        key_id=key_id, kind="biometrics", entry="job", audio_in_s=12.5, event_key="job:1"
    )
    await services.usage.record(act)
    await services.usage.record(act)
    await asyncio.gather(*(services.usage.record(act) for _ in range(4)))
    paid = UsageRecord(key_id=key_id, kind="tts", entry="job", characters=40, event_key="job:2")
    await asyncio.gather(services.usage.record(paid), services.usage.record(paid))

    summary = await services.usage.summary(key=Principal(key_id=key_id))
    assert summary.totals == UsageTotals(characters=40, audio_in_s=12.5, requests=2)
    period = billing_period(period_start=None, period_end=None)
    assert await services.usage.used_characters(key_id=key_id, period=period) == 40


async def test_buffered_acts_are_in_a_summary_at_once(services: Services) -> None:
    key_id = await new_key(services)
    for _ in range(3):
        await services.usage.record(
            UsageRecord(key_id=key_id, kind="tts", entry="stream", cache_hit=True)
        )
    summary = await services.usage.summary(key=Principal(key_id=key_id))
    assert summary.totals == UsageTotals(requests=3, cache_hits=3)


async def test_bad_ranges_and_groupings_are_refused_naming_the_field(
    services: Services,
) -> None:
    key = Principal(key_id=await new_key(services))
    day = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(Unprocessable) as backwards:
        await services.usage.summary(key=key, start=day, end=day)
    assert backwards.value.details["field"] == "from"
    with pytest.raises(Unprocessable) as too_long:
        await services.usage.summary(key=key, start=day, end=day + timedelta(days=367))
    assert too_long.value.details["field"] == "to"
    with pytest.raises(Unprocessable) as grouping:
        await services.usage.summary(key=key, group_by=("colour",))
    assert grouping.value.details["field"] == "group_by"
    with pytest.raises(ValueError, match="admin key"):
        await services.usage.summary(key=Principal(key_id=None, is_admin=True))


async def test_billed_acts_count_at_once_and_are_written_on_close(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    first = build_services(settings, engines=fake_registry())
    await first.start(run_jobs=False)
    key_id = await new_key(first)
    period = billing_period(period_start=None, period_end=None)
    assert await first.usage.used_characters(key_id=key_id, period=period) == 0
    billed = UsageRecord(key_id=key_id, kind="tts", entry="sync", characters=25)
    await first.usage.record(billed)  # held for a batch: counted here at once
    assert await first.usage.used_characters(key_id=key_id, period=period) == 25
    await first.usage.record(billed)
    await first.close()  # as at shutdown: what is held is written

    second = build_services(settings, engines=fake_registry())
    await second.start(run_jobs=False)
    try:
        assert await second.usage.used_characters(key_id=key_id, period=period) == 50
    finally:
        await second.close()
