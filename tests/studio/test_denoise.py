"""Denoise: a noisy real recording through DeepFilterNet; before/after waveform players as long
as the input, the cleaned audio downloaded, and bad input answered next to the file field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.denoise_audio import clean_speech, snr_db, with_white_noise
from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import api_error, error_next_to

MODEL_S = 120_000  # ms: the first call loads DeepFilterNet


def test_a_noisy_clip_is_cleaned_with_players_as_long_as_the_input(
    page: Page, new_key: Callable[..., str], tmp_path: Path
) -> None:
    clean, rate = clean_speech(seconds=4.5)
    noisy = with_white_noise(clean, snr_db=5.0)
    upload = tmp_path / "noisy-interview.wav"
    sf.write(upload, noisy, rate, subtype="PCM_16")
    duration = len(noisy) / rate

    sign_in(page, new_key("denoise"))
    open_page(page, "denoise")
    page.get_by_label("Audio file").set_input_files(upload)
    page.get_by_role("button", name="Denoise", exact=True).click()

    before = page.get_by_test_id("original-player")
    after = page.get_by_test_id("denoised-player")
    expect(after).to_have_attribute("data-duration", re.compile(r"\d"), timeout=MODEL_S)
    expect(before).to_have_attribute("data-duration", re.compile(r"\d"))
    assert abs(float(after.get_attribute("data-duration") or 0) - duration) <= 0.1
    assert abs(float(before.get_attribute("data-duration") or 0) - duration) <= 0.1
    expect(page.get_by_role("img", name="Waveform of the denoised audio")).to_be_visible()
    expect(page.get_by_text(re.compile(r"4\.50 s · denoised in \d+ ms by"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "denoise")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download denoised audio").click()
    assert info.value.suggested_filename == "noisy-interview-denoised.wav"
    cleaned, out_rate = sf.read(info.value.path(), dtype="float32")
    assert out_rate == rate
    assert abs(len(cleaned) / out_rate - duration) <= 0.1
    # What a listener hears: much closer to the clean speech than what was uploaded.
    n = min(len(cleaned), len(clean))
    assert snr_db(clean[:n], cleaned[:n]) > snr_db(clean[:n], noisy[:n]) + 3.0
    assert float(np.sqrt(np.mean(cleaned**2))) > 0.01  # speech kept, not silence

    # Play works (a real button, keyboard operable).
    play = after.get_by_role("button", name="Play")
    play.focus()
    page.keyboard.press("Enter")
    expect(after.get_by_role("button", name="Pause")).to_be_visible()
    page.keyboard.press("Enter")


def test_a_recording_is_denoised_and_keeps_its_length(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("denoise-mic"))
    open_page(page, "denoise")
    page.get_by_role("button", name="Record").click()
    page.wait_for_timeout(3000)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status").filter(has_text="Recorded")).to_be_visible()
    page.get_by_label("Output format").select_option(label="FLAC")
    page.get_by_role("button", name="Denoise", exact=True).click()
    after = page.get_by_test_id("denoised-player")
    expect(after).to_have_attribute("data-duration", re.compile(r"\d"), timeout=MODEL_S)
    before = page.get_by_test_id("original-player")
    expect(before).to_have_attribute("data-duration", re.compile(r"\d"))
    recorded = float(before.get_attribute("data-duration") or 0)
    assert recorded > 2.0
    assert abs(float(after.get_attribute("data-duration") or 0) - recorded) <= 0.1
    with page.expect_download() as info:
        page.get_by_role("button", name="Download denoised audio").click()
    assert info.value.suggested_filename == "recording-1-denoised.flac"
    assert sf.info(info.value.path()).format == "FLAC"


def test_a_file_that_is_not_audio_shows_the_apis_message(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("denoise-bad")
    fake = tmp_path / "photo.wav"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    message = api_error(
        studio_server,
        key,
        "/v1/audio/denoise",
        files={"file": (fake.name, fake.read_bytes(), "audio/wav")},
    )
    sign_in(page, key)
    open_page(page, "denoise")
    page.get_by_label("Audio file").set_input_files(fake)
    page.get_by_role("button", name="Denoise", exact=True).click()
    expect(error_next_to(page, "Audio file")).to_have_text(message)
    expect(page.get_by_test_id("denoised-player")).to_have_count(0)
