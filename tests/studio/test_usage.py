"""Usage: after real syntheses and a transcription, the page shows the characters used against
the quota, a bar per day with its text alternative, and the figures per backend and voice."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect

from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import RAINBOW, piper_voice, synthesize

FIRST = "The studio shows what this key has used."
SECOND = "Every character counts against the quota, except a cache hit."


def test_usage_shows_characters_against_the_quota_by_day_backend_and_voice(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("usage", monthly_char_quota=5000)
    voice = piper_voice(studio_server, key)
    synthesize(studio_server, key, voice, FIRST)
    synthesize(studio_server, key, voice, SECOND)
    synthesize(studio_server, key, voice, FIRST)  # a cache hit: no characters
    r = httpx.post(
        f"{studio_server}/v1/audio/transcriptions",
        files={"file": (RAINBOW.name, RAINBOW.read_bytes(), "audio/wav")},
        data={"model": "whisper-1"},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    used = len(FIRST) + len(SECOND)

    sign_in(page, key)
    open_page(page, "usage")
    period = page.get_by_role("region", name="This period")
    expect(period.get_by_text(f"{used} of 5,000 characters used")).to_be_visible()
    expect(period.get_by_text(f"{5000 - used:,} left")).to_be_visible()
    meter = page.get_by_label("Characters used of the quota")
    assert meter.evaluate("m => [m.value, m.max]") == [used, 5000]
    expect(period.get_by_text(re.compile(r"resets \d{4}-\d\d-01 00:00 UTC"))).to_be_visible()
    expect(period.locator("dd[data-metric=requests]")).to_have_text("4")
    expect(period.locator("dd[data-metric=cache_hits]")).to_have_text("1")

    days = page.get_by_role("region", name="Per day")
    chart = days.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(rf": {used} in all, on 1 day"))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    day_row = days.get_by_role("row", name=re.compile(today))
    expect(day_row).to_contain_text(str(used))
    assert chart.locator("rect").count() == datetime.now(UTC).day  # a bar per day so far
    days.get_by_label("Chart shows").select_option(label="Requests")
    expect(days.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"^Requests per day.*: 4 in all")
    )

    groups = page.get_by_role("region", name="By backend, voice and kind")
    by_backend = groups.get_by_role("table", name="Usage by backend")
    expect(by_backend.get_by_role("row", name=re.compile("^piper"))).to_contain_text(str(used))
    expect(by_backend.get_by_role("row", name=re.compile("^whisper"))).to_contain_text("5.2")
    by_voice = groups.get_by_role("table", name="Usage by voice")
    expect(by_voice.get_by_role("row", name=re.compile("^narrator"))).to_contain_text(str(used))
    by_kind = groups.get_by_role("table", name="Usage by kind of act")
    expect(by_kind.get_by_role("row", name=re.compile("^tts"))).to_be_visible()
    days.get_by_label("Chart shows").select_option(label="Characters")
    assert_accessible(page)
    screenshot(page, "usage")


def test_a_key_without_a_quota_is_shown_as_unlimited(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("usage-unlimited"))
    open_page(page, "usage")
    expect(page.get_by_text("0 characters used; no quota (unlimited).")).to_be_visible()
    expect(page.get_by_text("Usage by backend: nothing yet.")).to_be_visible()
