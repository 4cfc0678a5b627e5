"""Kokoro (`local`) refitted to two real samples of one speaker, through the API."""

from __future__ import annotations

import asyncio
import csv
import time
from pathlib import Path

import pytest

from tests.conftest import EVAL_SPEECH, tone_wav, wait_for_job
from tests.e2e.test_kokoro_fitting import data_dir, local_client  # noqa: F401 (fixtures)

pytestmark = pytest.mark.engine
SPEAKER = "vctk_p225"


def two_clips() -> list[tuple[Path, str]]:
    """Two 5–12 s recordings of one speaker of the evaluation set, with their transcripts."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] == SPEAKER]
    clips = [(EVAL_SPEECH / r["path"], r["transcript"]) for r in rows]
    clips = [c for c, r in zip(clips, rows, strict=True) if 5 <= float(r["duration_s"]) <= 12]
    assert len(clips) >= 2, f"{SPEAKER} has fewer than two 5–12 s clips"
    return clips[:2]


async def test_refit_to_a_second_real_sample(local_client) -> None:  # noqa: F811
    c, user = local_client
    (first, first_text), (second, second_text) = two_clips()
    r = await c.post(
        "/v1/voices",
        data={"name": "two samples", "ref_text": first_text},
        files={"ref_audio": (first.name, first.read_bytes())},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice_id = r.json()["voice_id"]
    deadline = time.monotonic() + 240
    voice = r.json()
    while voice["status"] == "fitting" and time.monotonic() < deadline:
        await asyncio.sleep(1)
        voice = (await c.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["status"] == "ready", voice
    (sample,) = (await c.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert sample["checks"]["speech_s"] > 2.0

    refused = await c.post(
        f"/v1/voices/{voice_id}/samples",
        data={"ref_text": "a tone"},
        files={"audio": ("t.wav", tone_wav(5.0))},
        headers=user,
    )
    assert refused.status_code == 422 and refused.json()["error"] == "unusable_reference"

    r = await c.post(
        f"/v1/voices/{voice_id}/samples",
        data={"ref_text": second_text},
        files={"audio": (second.name, second.read_bytes())},
        headers=user,
    )
    assert r.status_code == 201, r.text
    assert r.json()["sample"]["checks"]["speech_s"] > 2.0
    job_id = r.json()["voice"]["refit_job_id"]
    assert r.json()["voice"]["status"] == "ready" and job_id
    during = await c.post(
        f"/v1/text-to-speech/{voice_id}", json={"text": "Still speaking."}, headers=user
    )
    assert during.status_code == 200  # the first fit serves meanwhile
    job = await wait_for_job(c, job_id, user, timeout_s=240)
    assert job["status"] == "ready", job
    voice = (await c.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["status"] == "ready" and not voice["refitting"] and voice["refit_error"] is None
    after = await c.post(
        f"/v1/text-to-speech/{voice_id}", json={"text": "Refitted to both."}, headers=user
    )
    assert after.status_code == 200 and after.content != during.content
