"""Voices for engines that fit a model to the reference are prepared in a job, with progress."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.conftest import fake_registry, make_settings, tone_wav, wait_for_job
from voxclone.api.app import create_app
from voxclone.services.container import build_services


@pytest.fixture
async def fitting_client(tmp_path, admin_headers):
    svc = build_services(
        make_settings(tmp_path), engines=fake_registry(fitting=True, fit_delay_s=1.6)
    )
    app = create_app(services=svc)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers=admin_headers)).json()["api_key"]
        yield c, {"X-API-Key": key}


async def test_fitting_job_reports_progress_and_gates_synthesis(fitting_client) -> None:
    c, user = fitting_client
    r = await c.post(
        "/v1/voices",
        data={"name": "fitted"},
        files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["status"] == "fitting" and voice["progress"] == 0.0
    job_id = voice["fit_job_id"]

    blocked = await c.post(
        "/v1/synthesize", json={"voice_id": voice["voice_id"], "text": "Too soon."}, headers=user
    )
    assert blocked.status_code == 409
    assert blocked.json()["error"] == "conflict"
    assert "still being fitted" in blocked.json()["message"]

    seen: set[float] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = (await c.get(f"/v1/jobs/{job_id}", headers=user)).json()
        v = (await c.get(f"/v1/voices/{voice['voice_id']}", headers=user)).json()
        seen.add(v["progress"])
        if v["status"] != "fitting":
            break
        await asyncio.sleep(0.1)
    assert v["status"] == "ready" and v["progress"] == 1.0
    assert job["kind"] == "fit_voice"
    assert any(0 < p < 1 for p in seen), seen  # progress moved while fitting
    assert (await c.get(f"/v1/jobs/{job_id}", headers=user)).json()["status"] == "ready"

    r = await c.post(
        "/v1/synthesize",
        json={"voice_id": voice["voice_id"], "text": "Now it works."},
        headers=user,
    )
    assert r.status_code == 202
    assert (await wait_for_job(c, r.json()["job_id"], user))["status"] == "ready"


async def test_failed_fitting_marks_the_voice_failed(fitting_client) -> None:
    c, user = fitting_client
    r = await c.post(
        "/v1/voices",
        data={"name": "broken", "ref_text": "please FAIL"},
        files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    voice_id, job_id = r.json()["voice_id"], r.json()["fit_job_id"]
    job = await wait_for_job(c, job_id, user)
    assert job["status"] == "failed" and "fitting failed" in str(job["error"])
    v = (await c.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert v["status"] == "failed" and "fitting failed" in v["error"]
    r = await c.post("/v1/text-to-speech/" + voice_id, json={"text": "Hi."}, headers=user)
    assert r.status_code == 409 and "could not be fitted" in r.json()["message"]


async def test_fitting_interrupted_by_a_restart_resumes(tmp_path) -> None:
    settings = make_settings(tmp_path)
    first = build_services(settings, engines=fake_registry(fitting=True))
    await first.start(run_jobs=False)
    key_id = (await first.keys.create()).record.id
    voice = await first.voices.create(key_id=key_id, name="v", ref_audio=tone_wav())
    assert voice.status == "fitting"
    await first.close()

    second = build_services(settings, engines=fake_registry(fitting=True))
    await second.start()
    try:
        await second.queue.join()  # type: ignore[attr-defined]
        assert (await second.voices.get(key_id=key_id, voice_id=voice.id)).status == "ready"
    finally:
        await second.close()
