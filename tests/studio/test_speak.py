"""Speak: text to speech played while it streams (real Piper), its waveform and download, the
request as curl and Python (the Python run for real), and the API's messages for bad input."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.studio.conftest import assert_accessible, screenshot, sign_in
from tests.studio.speech_helpers import api_error, error_next_to, piper_voice

TEXT = (
    "The studio plays this while it is still being made. "
    "Each sentence is synthesized on its own and sent as soon as it is ready. "
    "So the first words are heard long before the last ones exist. "
    "That is what streaming means here. "
    "The waveform appears when the whole answer has arrived."
)
SYNTH_MS = 120_000


def open_speak(page: Page) -> None:
    """open_page, with time for the first listing of the stock voices (it reads the engines'
    files) on a busy machine."""
    # The landing page first: the shell marks main[data-ready] for whichever render ends last.
    expect(page.locator('main[data-ready="voices"]')).to_be_attached(timeout=30_000)
    page.goto("/#/speak")
    expect(page.locator('main[data-ready="speak"]')).to_be_attached(timeout=30_000)


def speak(page: Page, voice_id: str, text: str, fmt: str = "wav") -> None:
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_label("Voice", exact=True).select_option(voice_id)
    page.get_by_label("Format", exact=True).select_option(fmt)
    page.get_by_role("button", name="Speak", exact=True).click()


def test_speech_plays_while_it_streams_and_the_download_is_what_played(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("speak")
    voice_id = piper_voice(studio_server, key)
    sign_in(page, key)
    open_speak(page)
    speak(page, voice_id, TEXT)
    status = page.locator(".card p[role=status]").first
    expect(status).to_have_attribute("data-stream-end-at", re.compile(r".+"), timeout=SYNTH_MS)
    marks = status.evaluate("s => ({...s.dataset})")
    # Playback began on the first chunk, before the response had all arrived.
    assert int(marks["chunks"]) >= 2, marks
    assert float(marks["firstChunkAt"]) < float(marks["streamEndAt"]), marks
    assert marks["playback"] == "streamed"
    expect(status).to_contain_text("Done: piper, synthesized")

    result = page.get_by_test_id("speak-result")
    expect(result).to_have_attribute("data-duration", re.compile(r".+"))
    shown = float(result.get_attribute("data-duration") or 0)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "speech.wav"
    audio, rate = sf.read(download.value.path(), dtype="float32")
    assert abs(len(audio) / rate - shown) < 0.1, (len(audio) / rate, shown)
    assert len(audio) / rate > 8.0  # five sentences, all of them

    # The request as code: copied as shown, and the Python runs and gets the same audio.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=studio_server)
    code = page.get_by_label("The request as Python")
    assert voice_id in code.inner_text() and "httpx.stream(" in code.inner_text()
    page.get_by_role("button", name="Copy Python").click()
    expect(page.get_by_text("Python copied.")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == code.inner_text()
    subprocess.run(
        [sys.executable, "-c", copied],
        cwd=tmp_path,
        env={**os.environ, "VOXCLONE_API_KEY": key},
        check=True,
        timeout=120,
    )
    again, again_rate = sf.read(tmp_path / "speech.wav", dtype="float32")
    assert again_rate == rate  # the same speech (Piper samples its timing: within 0.5 s)
    assert abs(len(again) - len(audio)) / rate < 0.5, (len(again), len(audio))
    curl = page.get_by_label("The request as curl").inner_text()
    assert curl.startswith("curl -X POST") and f"/v1/text-to-speech/{voice_id}/stream" in curl
    assert "output_format=wav" in curl and "studio plays this" in curl

    assert_accessible(page)
    screenshot(page, "speak")


@pytest.mark.parametrize(
    ("fmt", "filename", "rate"),
    [("mp3_44100_128", "speech.mp3", 44100), ("pcm_24000", "speech.wav", 24000)],
)
def test_mp3_and_raw_pcm_stream_too(
    page: Page,
    new_key: Callable[..., str],
    studio_server: str,
    fmt: str,
    filename: str,
    rate: int,
) -> None:
    """MP3 plays through MediaSource; raw PCM through WebAudio and is saved as a WAV."""
    key = new_key(f"speak-{fmt}")
    voice_id = piper_voice(studio_server, key)
    sign_in(page, key)
    open_speak(page)
    speak(page, voice_id, TEXT, fmt=fmt)
    status = page.locator(".card p[role=status]").first
    expect(status).to_have_attribute("data-stream-end-at", re.compile(r".+"), timeout=SYNTH_MS)
    marks = status.evaluate("s => ({...s.dataset})")
    assert float(marks["firstChunkAt"]) < float(marks["streamEndAt"]), marks
    result = page.get_by_test_id("speak-result")
    expect(result).to_have_attribute("data-duration", re.compile(r".+"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == filename
    info = sf.info(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert info.samplerate == rate
    assert abs(info.duration - float(result.get_attribute("data-duration") or 0)) < 0.1
    assert info.duration > 8.0


def test_bad_input_shows_the_apis_message_next_to_the_text(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("speak-bad", monthly_char_quota=5)
    voice_id = piper_voice(studio_server, key)
    path = f"/v1/text-to-speech/{voice_id}/stream"
    sign_in(page, key)
    open_speak(page)
    error = error_next_to(page, "Text")
    for text in ("", "x" * 5001, "Far more than five characters."):
        message = api_error(studio_server, key, path, json={"text": text})
        speak(page, voice_id, text)
        expect(error).to_have_text(message)
        expect(page.get_by_label("Text", exact=True)).to_have_attribute("aria-invalid", "true")
    assert "quota" in message.lower(), message
