"""Voices: a voice from a microphone recording (trimmed, checked, saved), the checks' verdict on
bad clips before saving, a Kokoro fit's progress, and one voice's samples, tags, export, import
and deletion, in real Chromium against real Piper and Kokoro."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import RAINBOW, SNOW_PEAS, api_error, error_next_to, piper_voice

CHECK_MS = 60_000  # the first check loads Kokoro's reference checks
FIT_MS = 120_000
SAVE_MS = 120_000  # the first save without a transcript loads Whisper


def voices_of(server: str, key: str) -> list[dict[str, object]]:
    r = httpx.get(f"{server}/v1/voices", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_a_recording_is_trimmed_checked_and_saved(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("voices-record")
    sign_in(page, key)
    open_page(page, "voices")
    expect(page.get_by_text("No voices yet")).to_be_visible()
    page.get_by_role("button", name="● Record").click()
    expect(page.get_by_role("status").filter(has_text="Recording…")).to_be_visible()
    page.wait_for_timeout(5500)
    page.get_by_role("button", name="■ Stop").click()
    wave = page.get_by_test_id("reference-wave")
    expect(wave).to_have_attribute("data-duration", re.compile(r"^[5-7]\."))
    recorded = float(wave.get_attribute("data-duration") or 0)
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("✓ Usable reference", timeout=CHECK_MS)
    expect(verdict).to_contain_text(f"{recorded:.1f} s long")
    # Trim with the keyboard's number inputs: the region follows and the clip is checked again.
    page.get_by_label("Trim start (s)", exact=True).fill("0.5")
    page.get_by_label("Trim start (s)", exact=True).press("Tab")
    page.get_by_label("Trim end (s)", exact=True).fill("4.5")
    page.get_by_label("Trim end (s)", exact=True).press("Tab")
    expect(verdict).to_contain_text("4.0 s long", timeout=CHECK_MS)
    expect(verdict).to_contain_text("✓ Usable reference")
    expect(verdict).to_contain_text("of speech")

    page.get_by_label("Name", exact=True).fill("Recorded narrator")
    page.get_by_label("Engine", exact=True).select_option("piper")
    page.get_by_label("Tags", exact=True).fill("narrator, Calm")
    page.get_by_role("button", name="Save voice").click()
    row = page.get_by_role("row").filter(has_text="Recorded narrator")
    expect(row).to_be_visible(timeout=SAVE_MS)  # no transcript given: Whisper writes one
    expect(row).to_contain_text("piper")
    expect(row).to_contain_text("ready")
    expect(row.locator(".tag")).to_have_text(["narrator", "calm"])
    (voice,) = voices_of(studio_server, key)
    assert abs(float(voice["ref_duration_s"]) - 4.0) < 0.02, voice  # type: ignore[arg-type]
    assert voice["ref_format"] == "wav"
    expect(page.get_by_label("Trim start (s)", exact=True)).to_be_hidden()
    # The next clip, with its waveform and verdict, for the screenshot.
    page.get_by_label("Reference audio", exact=True).set_input_files(RAINBOW)
    expect(verdict).to_contain_text("✓ Usable reference: 5.", timeout=CHECK_MS)
    expect(wave).to_have_attribute("data-duration", re.compile(r"^5\."))
    assert_accessible(page)
    screenshot(page, "voices")


def test_the_checks_verdict_shows_before_saving_and_saving_shows_the_apis_message(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("voices-verdict")
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(16000 * 5, dtype=np.float32), 16000)
    short = tmp_path / "short.wav"
    samples, rate = sf.read(RAINBOW, dtype="float32")
    sf.write(short, samples[: rate * 2], rate)
    sign_in(page, key)
    open_page(page, "voices")
    page.get_by_label("Engine", exact=True).select_option("local")
    page.get_by_label("Reference audio", exact=True).set_input_files(silence)
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("✗ Not usable", timeout=CHECK_MS)
    message = api_error(
        studio_server,
        key,
        "/v1/voices",
        data={"name": "x", "backend": "local"},
        files={"ref_audio": ("s.wav", silence.read_bytes())},
    )
    expect(verdict).to_contain_text(message)
    page.get_by_label("Name", exact=True).fill("Silence")
    page.get_by_role("button", name="Save voice").click()
    expect(error_next_to(page, "Reference audio")).to_have_text(message)

    # Piper checks nothing: the verdict is advice; the length limit holds everywhere.
    page.get_by_label("Engine", exact=True).select_option("piper")
    page.get_by_label("Reference audio", exact=True).set_input_files(short)
    too_short = api_error(
        studio_server,
        key,
        "/v1/voices",
        data={"name": "x", "backend": "piper"},
        files={"ref_audio": ("s.wav", short.read_bytes())},
    )
    assert "2 s long" in too_short
    expect(verdict).to_have_text(f"✗ Not usable: {too_short}")
    page.get_by_role("button", name="Save voice").click()
    expect(error_next_to(page, "Reference audio")).to_have_text(too_short)
    assert voices_of(studio_server, key) == []


def test_a_kokoro_fit_shows_its_progress_live(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("voices-fit")
    sign_in(page, key)
    open_page(page, "voices")
    page.get_by_label("Engine", exact=True).select_option("local")
    page.get_by_label("Reference audio", exact=True).set_input_files(RAINBOW)
    expect(page.locator(".verdict")).to_contain_text("✓ Usable reference", timeout=CHECK_MS)
    page.get_by_label("Name", exact=True).fill("Fitted")
    page.get_by_label("Transcript of the clip (optional)", exact=True).fill(
        "Many complicated ideas about the rainbow have been formed."
    )
    page.get_by_role("button", name="Save voice").click()
    bar = page.get_by_role("progressbar", name="Fitting Fitted")
    expect(bar).to_be_visible()
    seen: set[float] = set()
    box = page.locator(".fit-box")
    for _ in range(600):
        seen.add(float(bar.evaluate("b => b.value")))
        if box.get_attribute("data-fit"):
            break
        page.wait_for_timeout(200)
    expect(box).to_have_attribute("data-fit", "ready", timeout=FIT_MS)
    expect(box).to_contain_text("Fitted is ready.")
    assert any(0 < v < 1 for v in seen), seen  # the bar moved while the job ran
    row = page.get_by_role("row").filter(has_text="Fitted")
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text("local")


def test_one_voice_samples_tags_export_import_and_delete(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("voices-detail")
    voice_id = piper_voice(studio_server, key)
    sign_in(page, key)
    open_page(page, "voices")
    page.get_by_role("link", name="narrator").click()
    expect(page.get_by_role("heading", name="narrator")).to_be_visible()
    samples = page.locator(".sample-list > li")
    expect(samples).to_have_count(1)
    expect(page.get_by_role("button", name="Remove sample 1")).to_be_disabled()

    page.get_by_label("New sample", exact=True).set_input_files(SNOW_PEAS)
    page.get_by_role("button", name="Add sample").click()
    expect(samples).to_have_count(2)
    player = page.get_by_label("Play sample 2", exact=True)
    page.wait_for_function(
        "() => { const a = document.querySelector('[aria-label=\"Play sample 2\"]');"
        " return a && a.duration > 0 && isFinite(a.duration); }"
    )
    info = sf.info(SNOW_PEAS)
    assert abs(player.evaluate("a => a.duration") - info.duration) < 0.1
    expect(samples.nth(1)).to_contain_text("(transcribed)")
    assert_accessible(page)

    page.get_by_label("Tags", exact=True).fill("narrator, warm")
    page.get_by_role("button", name="Save tags").click()
    expect(page.get_by_text("Tags saved.")).to_be_visible()
    r = httpx.get(f"{studio_server}/v1/voices/{voice_id}", headers={"X-API-Key": key})
    assert r.json()["tags"] == ["narrator", "warm"]

    page.get_by_role("button", name="Remove sample 2").click()
    expect(samples).to_have_count(1)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export archive").click()
    archive = Path(download.value.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "manifest.json" in names and "samples/01.wav" in names

    page.get_by_role("button", name="Delete voice").click()
    page.get_by_role("button", name="Keep it").click()
    assert len(voices_of(studio_server, key)) == 1
    page.get_by_role("button", name="Delete voice").click()
    page.get_by_role("button", name="Yes, delete narrator").click()
    expect(page.get_by_text("No voices yet")).to_be_visible()
    assert voices_of(studio_server, key) == []

    # The archive brings the voice back, ready at once.
    exported = tmp_path / "voice.zip"
    exported.write_bytes(archive)
    page.get_by_label("Voice archive (.zip)", exact=True).set_input_files(exported)
    page.get_by_role("button", name="Import").click()
    row = page.get_by_role("row").filter(has_text="narrator")
    expect(row).to_contain_text("ready")
    expect(row.locator(".tag")).to_have_text(["narrator", "warm"])
