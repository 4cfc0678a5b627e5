"""Transcribe: a real clip (uploaded or recorded from the fake microphone) through Whisper, its
text, segment and word timestamps on the page, and SRT/VTT downloads from the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import RAINBOW, api_error, error_next_to

WHISPER_S = 120_000  # ms: the first call loads the model


def test_an_upload_gives_text_timestamps_and_subtitle_files(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("transcribe"))
    open_page(page, "transcribe")
    page.get_by_label("Audio file").set_input_files(RAINBOW)
    page.get_by_label("Language").select_option(label="English")
    page.get_by_label("Word timestamps").check()
    page.get_by_role("button", name="Transcribe", exact=True).click()

    text = page.get_by_test_id("transcript-text")
    expect(text).to_contain_text("rainbow", ignore_case=True, timeout=WHISPER_S)
    said = text.inner_text().lower()
    for word in ("many", "complicated", "ideas", "rainbow", "formed"):
        assert word in said, said
    expect(page.get_by_text(re.compile(r"Language: english · 5\.\d s of audio"))).to_be_visible()
    segments = page.get_by_role("table").locator("tbody tr")
    expect(segments.first).to_be_visible()
    assert segments.first.locator("td").first.inner_text().startswith("0:0")
    words = page.get_by_role("list", name="Words with their times").get_by_role("listitem")
    assert words.count() >= 8
    expect(words.filter(has_text="rainbow")).to_have_count(1)
    assert_accessible(page)
    screenshot(page, "transcribe")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download SRT").click()
    srt = Path(info.value.path()).read_text()
    assert info.value.suggested_filename == "p225_020.srt"
    assert srt.startswith("1\n00:00:"), srt
    assert "rainbow" in srt.lower()
    with page.expect_download(timeout=WHISPER_S) as info:
        page.get_by_role("button", name="Download VTT").click()
    vtt = Path(info.value.path()).read_text()
    assert vtt.startswith("WEBVTT"), vtt
    assert "rainbow" in vtt.lower()


def test_a_recording_from_the_microphone_is_transcribed(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("transcribe-mic"))
    open_page(page, "transcribe")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status").filter(has_text="Recording…")).to_be_visible()
    page.wait_for_timeout(4000)
    page.get_by_role("button", name="Stop").click()
    recorded = page.get_by_role("status").filter(has_text="Recorded")
    expect(recorded).to_have_text(re.compile(r"Recorded [3-6]\.\d s\."))
    expect(page.get_by_label("Recording 1", exact=True)).to_be_attached()  # a player of it
    page.get_by_role("button", name="Transcribe", exact=True).click()
    text = page.get_by_test_id("transcript-text")
    expect(text).not_to_be_empty(timeout=WHISPER_S)
    assert len(re.findall(r"[a-z]+", text.inner_text().lower())) >= 4, text.inner_text()
    heard = re.compile(r"[3-6]\.\d s of audio · recording-1\.wav")  # the WAV made of it
    expect(page.get_by_text(heard)).to_be_visible()


def test_a_file_that_is_not_audio_shows_the_apis_message_by_the_file_field(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("transcribe-bad")
    notes = tmp_path / "notes.txt"
    notes.write_text("These are meeting notes, not a recording.\n" * 20)
    message = api_error(
        studio_server,
        key,
        "/v1/audio/transcriptions",
        files={"file": (notes.name, notes.read_bytes(), "text/plain")},
        data={"model": "whisper-1"},
    )
    sign_in(page, key)
    open_page(page, "transcribe")
    page.get_by_label("Audio file").set_input_files(notes)
    page.get_by_role("button", name="Transcribe", exact=True).click()
    expect(error_next_to(page, "Audio file")).to_have_text(message)
    expect(page.get_by_label("Audio file")).to_have_attribute("aria-invalid", "true")
