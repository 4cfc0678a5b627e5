"""Refits: a fitting engine refits a voice when its samples change, as a job; the previous fit
serves until the new one lands, and a failed refit leaves it in place."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.api.test_voice_samples import add, pitch_of, sine, speak
from tests.conftest import fake_registry, wait_for_job
from voxclone.engines.registry import EngineRegistry

FIT_S = 1.2


@pytest.fixture
def registry() -> EngineRegistry:
    return fake_registry(fitting=True, fit_delay_s=FIT_S)


async def wait_voice(client, headers, voice_id, until, timeout_s=30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        voice: dict[str, object] = (
            await client.get(f"/v1/voices/{voice_id}", headers=headers)
        ).json()
        if until(voice):
            return voice
        await asyncio.sleep(0.05)
    raise AssertionError(f"voice {voice_id} never got there: {voice}")


async def fitted_voice(client: httpx.AsyncClient, user, *, hz=200.0, ref_text="first") -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "fitted", "ref_text": ref_text},
        files={"ref_audio": ("r.wav", sine(hz), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201 and r.json()["status"] == "fitting", r.text
    voice_id = str(r.json()["voice_id"])
    await wait_voice(client, user, voice_id, lambda v: v["status"] != "fitting")
    return voice_id


async def test_refit_keeps_serving_the_old_fit_until_the_new_one_lands(client, user):
    voice_id = await fitted_voice(client, user, hz=200.0)
    before = pitch_of(await speak(client, user, voice_id, "The first fit."))
    assert abs(before - 200.0) < 5

    r = await add(client, user, voice_id, sine(400.0), ref_text="second")
    assert r.status_code == 201, r.text
    voice = r.json()["voice"]
    assert voice["status"] == "ready" and voice["refitting"] is True
    job_id = voice["refit_job_id"]
    job = (await client.get(f"/v1/jobs/{job_id}", headers=user)).json()
    assert job["kind"] == "fit_voice"

    # While the refit runs, the voice speaks, with its previous fit.
    during = pitch_of(await speak(client, user, voice_id, "During the refit."))
    assert abs(during - before) < 1, (before, during)
    still = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert still["status"] == "ready" and still["refitting"] is True

    assert (await wait_for_job(client, job_id, user))["status"] == "ready"
    done = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert done["status"] == "ready" and done["refitting"] is False
    assert done["refit_job_id"] is None and done["refit_error"] is None
    after = pitch_of(await speak(client, user, voice_id, "After the refit."))
    assert after > before * 1.2, (before, after)  # fitted to both: 200 Hz and 400 Hz
    # Audio cached before the refit is not served for the refitted voice.
    again = pitch_of(await speak(client, user, voice_id, "The first fit."))
    assert abs(again - after) < 1


async def test_a_failed_refit_leaves_the_old_fit_in_place(client, user):
    voice_id = await fitted_voice(client, user, hz=200.0)
    before = pitch_of(await speak(client, user, voice_id, "The first fit."))
    r = await add(client, user, voice_id, sine(400.0), ref_text="please FAIL")
    job_id = r.json()["voice"]["refit_job_id"]
    job = await wait_for_job(client, job_id, user)
    assert job["status"] == "failed" and "fitting failed" in str(job["error"])
    voice = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["status"] == "ready" and voice["error"] is None
    assert voice["refitting"] is False and "fitting failed" in voice["refit_error"]
    now = pitch_of(await speak(client, user, voice_id, "Still the first fit."))
    assert abs(now - before) < 1
    # The sample stays (the user removes it); removing it refits again, and that succeeds.
    samples = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    bad = samples[-1]["sample_id"]
    r = await client.delete(f"/v1/voices/{voice_id}/samples/{bad}", headers=user)
    assert r.status_code == 200 and r.json()["voice"]["refitting"] is True
    assert r.json()["voice"]["refit_error"] is None
    assert (await wait_for_job(client, r.json()["voice"]["refit_job_id"], user))[
        "status"
    ] == "ready"
    voice = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["refit_error"] is None and voice["status"] == "ready"


async def test_a_newer_change_supersedes_a_running_refit(client, user):
    voice_id = await fitted_voice(client, user, hz=200.0)
    first = (await add(client, user, voice_id, sine(400.0), ref_text="two")).json()
    second = (await add(client, user, voice_id, sine(300.0), ref_text="three")).json()
    old_job, new_job = first["voice"]["refit_job_id"], second["voice"]["refit_job_id"]
    assert old_job != new_job
    assert (await client.get(f"/v1/jobs/{old_job}", headers=user)).json()["status"] == "cancelled"
    assert (await wait_for_job(client, new_job, user))["status"] == "ready"
    voice = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["status"] == "ready" and voice["refitting"] is False
    assert voice["refit_error"] is None


async def test_samples_wait_for_the_first_fit(client, user):
    r = await client.post(
        "/v1/voices",
        data={"name": "new", "ref_text": "first"},
        files={"ref_audio": ("r.wav", sine(200.0), "audio/wav")},
        headers=user,
    )
    voice_id = r.json()["voice_id"]
    r = await add(client, user, voice_id, sine(300.0), ref_text="too soon")
    assert r.status_code == 409 and "still being fitted" in r.json()["message"]
    await wait_voice(client, user, voice_id, lambda v: v["status"] == "ready")
    samples = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert len(samples) == 1


async def test_a_failed_voice_is_fitted_again_when_its_samples_change(client, user):
    voice_id = await fitted_voice(client, user, ref_text="please FAIL")
    voice = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["status"] == "failed"
    r = await add(client, user, voice_id, sine(300.0), ref_text="a good one")
    assert r.status_code == 201 and r.json()["voice"]["status"] == "fitting"
    voice = await wait_voice(client, user, voice_id, lambda v: v["status"] != "fitting")
    assert voice["status"] == "failed"  # the first sample's transcript still says FAIL
    r = await client.delete(f"/v1/voices/{voice_id}/samples/{voice_id}", headers=user)
    assert r.status_code == 200 and r.json()["voice"]["status"] == "fitting"
    voice = await wait_voice(client, user, voice_id, lambda v: v["status"] != "fitting")
    assert voice["status"] == "ready" and voice["error"] is None
    assert abs(pitch_of(await speak(client, user, voice_id, "Fixed.")) - 300.0) < 5
