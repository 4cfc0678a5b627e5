"""Talk: a spoken conversation over WebRTC from the studio in real Chromium. The fake microphone
says a real sentence and then keeps quiet; the server's VAD ends the turn, Whisper hears it, the
echo answerer says it back in a Piper voice on the answer track, and the page writes both turns
out and draws both sides live (the answer's waveform counts the sound it actually received)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.realtime_peers import RATE, silence, speech_clip
from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in

PIPER = "en_US-joe-medium"
TURN_MS = 120_000  # the first turn loads Silero, Whisper and Piper


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sentence, then a long silence: Chromium's fake microphone loops this file."""
    path = tmp_path_factory.mktemp("talk") / "sentence-then-quiet.wav"
    sf.write(path, np.concatenate([silence(1.0), speech_clip(), silence(14.0)]), RATE)
    return path


def test_a_spoken_turn_is_heard_and_answered_in_the_chosen_voice(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("talk"))
    open_page(page, "talk")
    page.get_by_label("Voice", exact=True).select_option(PIPER)
    page.get_by_label("Who answers", exact=True).select_option("echo")
    page.get_by_label("Pause before answering (ms)").fill("400")
    page.get_by_role("button", name="Start talking").click()
    status = page.get_by_test_id("talk-status")
    expect(status).to_have_attribute("data-connected", "true", timeout=30_000)

    # The sentence's end: how much of its start the call hears depends on when it connected.
    said = re.compile("shook hands", re.IGNORECASE)
    you = page.locator(".talk-you .words-said", has_text=said)
    expect(you.first).to_be_visible(timeout=TURN_MS)
    voice = page.locator(".talk-voice .words-said", has_text=said)
    expect(voice.first).to_be_visible(timeout=TURN_MS)
    reply = page.get_by_role("img", name="Live waveform of the voice's answer")
    expect(reply).to_have_attribute("data-heard-ms", re.compile(r"^[1-9]\d{3,}$"), timeout=TURN_MS)
    heard_ms = int(reply.get_attribute("data-heard-ms") or 0)
    assert heard_ms >= 1000, heard_ms  # a second of the answer reached the page as sound
    assert_accessible(page)
    screenshot(page, "talk")

    page.get_by_role("button", name="Hang up").click()
    expect(status).to_have_text("Not connected.")
    page.wait_for_timeout(1500)  # the call's last events, still in flight, change nothing
    expect(status).to_have_text("Not connected.")
    expect(page.get_by_role("button", name="Start talking")).to_be_enabled()
