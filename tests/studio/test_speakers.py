"""Speakers: enroll real speakers from uploaded clips and a microphone recording, verify a clip
of the same and of another speaker, identify, delete, and the API's message for bad input."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import SPEAKER_A, SPEAKER_B, api_error, error_next_to

MODEL_S = 120_000  # ms: the first call loads the speaker encoder


def enroll(page: Page, name: str, clips: list) -> None:  # type: ignore[type-arg]
    section = page.get_by_role("region", name="Enroll a speaker")
    section.get_by_label("Name").fill(name)
    if clips:
        section.get_by_label("Enrollment clips").set_input_files(clips)
    section.get_by_role("button", name="Enroll", exact=True).click()


def test_enroll_verify_identify_and_delete_real_speakers(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in(page, new_key("speakers"))
    open_page(page, "speakers")
    speakers = page.get_by_role("region", name="Enrolled speakers")
    expect(speakers.get_by_text("No speakers yet")).to_be_visible()

    # Arthur (LibriSpeech 1688): two uploaded clips and one recorded from the microphone,
    # which plays another clip of his.
    section = page.get_by_role("region", name="Enroll a speaker")
    section.get_by_role("button", name="Record").click()
    page.wait_for_timeout(3500)
    section.get_by_role("button", name="Stop").click()
    expect(section.get_by_role("status").filter(has_text="Recorded")).to_be_visible()
    enroll(page, "Arthur", SPEAKER_A[1:])
    arthur = speakers.get_by_role("row", name=re.compile("^Arthur"))
    expect(arthur).to_contain_text("3 clip(s)", timeout=MODEL_S)
    enroll(page, "Beth", SPEAKER_B[:1])  # LibriSpeech 1998
    beth = speakers.get_by_role("row", name=re.compile("^Beth"))
    expect(beth).to_contain_text("1 clip(s)", timeout=MODEL_S)
    expect(speakers.get_by_text("No speakers yet")).to_be_hidden()

    verify = page.get_by_role("region", name="Verify")
    verify.get_by_label("Speaker").select_option(label="Beth")
    verify.get_by_label("Clip to verify").set_input_files(SPEAKER_B[1])  # Beth, not enrolled
    verify.get_by_role("button", name="Verify", exact=True).click()
    verdict = verify.get_by_role("status").filter(has_text="match")
    expect(verdict).to_contain_text("Match: this is Beth.")
    expect(verdict).to_contain_text(re.compile(r"Score 0\.\d{3} \(threshold 0\.\d{3}\)"))
    verify.get_by_label("Speaker").select_option(label="Arthur")
    verify.get_by_role("button", name="Verify", exact=True).click()
    expect(verdict).to_contain_text("No match: this is not Arthur.")

    identify = page.get_by_role("region", name="Identify")
    identify.get_by_label("Clip to identify").set_input_files(SPEAKER_A[0])
    identify.get_by_role("button", name="Identify", exact=True).click()
    answer = identify.get_by_role("status").filter(has_text="match")
    expect(answer).to_contain_text(re.compile(r"Best match: Arthur \(score 0\.\d{3}\)\."))
    assert_accessible(page)
    screenshot(page, "speakers")

    # Without Beth, her voice matches nobody.
    speakers.get_by_role("button", name="Delete Beth").click()
    expect(beth).to_have_count(0)
    identify.get_by_label("Clip to identify").set_input_files(SPEAKER_B[1])
    identify.get_by_role("button", name="Identify", exact=True).click()
    expect(answer).to_contain_text("No match: none of the enrolled speakers.")
    expect(verify.get_by_label("Speaker").get_by_role("option")).to_have_text(
        ["Choose a speaker", "Arthur"]
    )


def test_an_empty_name_and_a_clip_without_speech_show_the_apis_messages(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("speakers-bad")
    no_name = api_error(studio_server, key, "/v1/speakers", data={"name": ""})
    sign_in(page, key)
    open_page(page, "speakers")
    enroll(page, "", [])
    expect(error_next_to(page, "Name")).to_have_text(no_name)
    expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")

    silence = (
        b"RIFF"
        + (36 + 32000).to_bytes(4, "little")
        + b"WAVEfmt "
        + bytes([16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0, 2, 0, 16, 0])
        + b"data"
        + (32000).to_bytes(4, "little")
        + bytes(32000)
    )
    quiet = {"name": "quiet.wav", "mimeType": "audio/wav", "buffer": silence}
    message = api_error(
        studio_server,
        key,
        "/v1/speakers",
        data={"name": "Quiet"},
        files={"audio": ("quiet.wav", silence, "audio/wav")},
    )
    section = page.get_by_role("region", name="Enroll a speaker")
    section.get_by_label("Name").fill("Quiet")
    section.get_by_label("Enrollment clips").set_input_files(quiet)  # type: ignore[arg-type]
    section.get_by_role("button", name="Enroll", exact=True).click()
    expect(error_next_to(page, "Enrollment clips")).to_have_text(message, timeout=MODEL_S)
    expect(error_next_to(page, "Name")).to_be_hidden()
