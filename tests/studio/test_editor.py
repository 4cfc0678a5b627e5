"""Editor: a real Piper synthesis on a waveform with a region; the region moved with the mouse
and with the Start/End inputs, fades, gain and loudness, saved as a new history item whose
decoded audio has the trimmed length; a trim that ends before it starts shows the API's
message next to the End input."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import httpx
import pyloudnorm
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.e2e.test_piper_end_to_end import reference_clip
from tests.studio.conftest import assert_accessible, screenshot
from tests.studio.page_helpers import sign_in_at
from tests.studio.speech_helpers import error_next_to, piper_voice, synthesize

TEXT = "The lighthouse had been dark for eleven years when the letter finally arrived."


def made_item(server: str, key: str) -> tuple[str, float]:
    voice = piper_voice(server, key, reference_clip())
    audio = synthesize(server, key, voice, TEXT)
    items = httpx.get(f"{server}/v1/history", headers={"X-API-Key": key}).json()["items"]
    return str(items[0]["history_id"]), sf.info(io.BytesIO(audio)).duration


def open_editor(page: Page, key: str, history_id: str) -> None:
    sign_in_at(page, key, f"editor?history={history_id}")
    expect(page.get_by_test_id("editor-waveform")).to_have_attribute(
        "data-duration", re.compile(r"\d")
    )


def test_trim_fade_gain_and_normalise_save_a_new_item_of_the_trimmed_length(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("editor")
    history_id, duration = made_item(studio_server, key)
    assert duration > 3
    open_editor(page, key, history_id)
    shown = float(page.get_by_test_id("editor-waveform").get_attribute("data-duration") or 0)
    assert abs(shown - duration) < 0.05
    start, end = page.get_by_label("Start (s)"), page.get_by_label("End (s)")
    expect(start).to_have_value("0.00")
    expect(end).to_have_value(f"{duration:.2f}")

    # Dragging the region's right edge with the mouse updates the End input.
    region = page.locator("[part~='region']").first
    box = region.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    expect(end).not_to_have_value(f"{duration:.2f}")
    dragged = float(end.input_value())
    assert abs(dragged - duration * 0.6) < 0.25, dragged

    # The keyboard way: typed times move the region.
    start.fill("0.5")
    end.fill("2.25")
    wave_box = page.get_by_test_id("editor-waveform").locator(".wave").bounding_box()
    box = region.bounding_box()
    assert wave_box is not None and box is not None
    assert abs((box["x"] - wave_box["x"]) / wave_box["width"] - 0.5 / duration) < 0.02
    assert abs(box["width"] / wave_box["width"] - 1.75 / duration) < 0.02

    page.get_by_label("Fade in (s)").fill("0.05")
    page.get_by_label("Fade out (s)").fill("0.2")
    page.get_by_label("Gain (dB)").fill("-3")
    page.get_by_label("Normalise loudness").check()
    page.get_by_label("Target loudness (LUFS)").fill("-20")
    page.get_by_role("button", name="Save as a new item").click()
    saved = page.get_by_role("region", name="Saved as a new history item")
    expect(saved).to_be_visible(timeout=60_000)
    new_id = saved.get_attribute("data-history-id")
    assert new_id and new_id != history_id
    expect(saved.get_by_role("link", name="Open the new item")).to_have_attribute(
        "href", f"#/editor?history={new_id}"
    )

    audio = httpx.get(
        f"{studio_server}/v1/history/{new_id}/audio", headers={"X-API-Key": key}
    ).content
    samples, rate = sf.read(io.BytesIO(audio), dtype="float64")
    assert abs(len(samples) / rate - 1.75) < 0.05
    assert samples[0] == 0.0 and samples[-1] == 0.0  # faded from and to silence
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(loudness - (-20)) < 1.5, loudness  # normalised, then faded at the edges
    item = httpx.get(f"{studio_server}/v1/history/{new_id}", headers={"X-API-Key": key}).json()
    assert item["entry"] == "edit" and item["source_id"] == history_id
    player = saved.get_by_label("Play the edited audio")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    assert abs(float(player.evaluate("el => el.duration")) - 1.75) < 0.05

    assert_accessible(page)
    screenshot(page, "editor")


def test_a_trim_ending_before_it_starts_shows_the_apis_message_by_the_end_input(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("editor-bad")
    history_id, _ = made_item(studio_server, key)
    r = httpx.post(
        f"{studio_server}/v1/audio/edit",
        json={
            "source": {"history_id": history_id},
            "operations": [{"op": "trim", "start_s": 2.0, "end_s": 1.0}],
            "format": "wav",
        },
        headers={"X-API-Key": key},
    )
    assert r.status_code == 422, r.text
    open_editor(page, key, history_id)
    page.get_by_label("Start (s)").fill("2")
    page.get_by_label("End (s)").fill("1")
    page.get_by_role("button", name="Save as a new item").click()
    expect(error_next_to(page, "End (s)")).to_have_text(r.json()["message"])
    expect(page.get_by_label("End (s)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Saved as a new history item")).to_have_count(0)


def test_without_an_item_the_editor_offers_the_latest_ones(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("editor-pick")
    history_id, _ = made_item(studio_server, key)
    sign_in_at(page, key, "editor")
    page.get_by_label("History item").select_option(history_id)
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_test_id("editor-waveform")).to_have_attribute(
        "data-duration", re.compile(r"\d")
    )
