"""Shared by the studio tests of the speech pages: clips with known speakers and texts, the
error slot next to a labelled control, a Piper voice and a synthesis through the API."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page

from tests.conftest import EVAL_SPEECH

RAINBOW = EVAL_SPEECH / "vctk/p225/p225_020.wav"
"""VCTK p225 (F), 5.2 s: "Many complicated ideas about the rainbow have been formed." """
SNOW_PEAS = EVAL_SPEECH / "vctk/p225/p225_003.wav"
"""VCTK p225 (F): "Six spoons of fresh snow peas, five thick slabs of blue cheese..." """
SPEAKER_A = [
    EVAL_SPEECH / f"librispeech_test-other/1688/1688-142285-000{n}.flac" for n in (3, 4, 6)
]
"""LibriSpeech speaker 1688 (M); 0003 is also what the fake microphone plays."""
SPEAKER_B = [EVAL_SPEECH / f"librispeech_test-other/1998/1998-15444-000{n}.flac" for n in (1, 6)]
"""LibriSpeech speaker 1998 (F)."""


def error_next_to(page: Page, label: str) -> Locator:
    """The error slot of the control labelled ``label`` (what field() puts under it)."""
    control_id = page.get_by_label(label, exact=True).get_attribute("id")
    return page.locator(f"[id='{control_id}-error']")


def api_error(server: str, key: str, path: str, **request: object) -> str:
    """The API's own message for a request expected to fail (what the page must show)."""
    r = httpx.post(f"{server}{path}", headers={"X-API-Key": key}, timeout=120, **request)  # type: ignore[arg-type]
    assert 400 <= r.status_code < 500, r.text
    return str(r.json()["message"])


def piper_voice(server: str, key: str, clip: Path = RAINBOW) -> str:
    r = httpx.post(
        f"{server}/v1/voices",
        data={"name": "narrator", "lang": "en", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


def synthesize(server: str, key: str, voice_id: str, text: str) -> bytes:
    r = httpx.post(
        f"{server}/v1/text-to-speech/{voice_id}",
        json={"text": text},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return r.content
