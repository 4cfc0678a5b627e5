from __future__ import annotations

import io

import httpx
import pytest
import soundfile as sf
from sqlalchemy import select

from tests.conftest import fake_registry, make_settings, tone_wav, wait_for_job
from voxclone.db.tables import CacheEntry, Job
from voxclone.services.container import Services


async def test_miss_queues_a_job_then_hit_returns_audio(client, user, voice_id) -> None:
    body = {"voice_id": voice_id, "text": "Hello there. How are you?"}
    r = await client.post("/v1/synthesize", json=body, headers=user)
    assert r.status_code == 202, r.text
    assert r.headers["X-Cache"] == "MISS"
    assert r.headers["X-Voice-Id"] == voice_id
    assert r.headers["X-Backend"] == "fake"
    assert r.headers["X-Synthesis-Time-Ms"] == "-1"
    job_id = r.json()["job_id"]
    assert r.json()["status"] == "pending"

    job = await wait_for_job(client, job_id, user)
    assert job["status"] == "ready", job
    assert job["progress"] == 1.0
    assert job["audio_url"] == f"http://test/v1/jobs/{job_id}/audio"

    audio = await client.get(f"/v1/jobs/{job_id}/audio", headers=user)
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert audio.headers["X-Job-Id"] == job_id
    samples, rate = sf.read(io.BytesIO(audio.content))
    assert rate == 16000 and len(samples) / rate > 0.5

    hit = await client.post("/v1/synthesize", json=body, headers=user)
    assert hit.status_code == 200
    assert hit.headers["X-Cache"] == "HIT"
    assert hit.headers["X-Voice-Id"] == voice_id
    assert hit.headers["X-Backend"] == "fake"
    assert int(hit.headers["X-Synthesis-Time-Ms"]) >= 0
    assert hit.content == audio.content


async def test_cache_key_separates_text_lang_and_params(client, user, voice_id, services) -> None:
    for text, speed in [("One.", 1.0), ("One.", 1.5), ("Two.", 1.0)]:
        r = await client.post(
            "/v1/synthesize",
            json={"voice_id": voice_id, "text": text, "speed": speed},
            headers=user,
        )
        assert r.status_code == 202
        await wait_for_job(client, r.json()["job_id"], user)
    async with services.sessions() as session:
        assert len((await session.execute(select(CacheEntry))).scalars().all()) == 3


def test_cache_key_uses_nul_separators() -> None:
    from voxclone.services.synthesis_request import cache_key

    a = cache_key(voice_id="v", text="ab", lang="c", backend="d", params={}, engine_version="1")
    b = cache_key(voice_id="v", text="a", lang="bc", backend="d", params={}, engine_version="1")
    c = cache_key(voice_id="v", text="ab", lang="c", backend="d", params={}, engine_version="2")
    assert len({a, b, c}) == 3


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": "hi"}, 400, "missing_field"),
        ({"voice_id": "VID"}, 400, "missing_field"),
        ({"voice_id": "VID", "text": ""}, 400, "missing_field"),
        ({"voice_id": "VID", "text": "   "}, 400, "missing_field"),
        ({"voice_id": "VID", "text": "a" * 5001}, 422, "invalid_text"),
        ({"voice_id": "VID", "text": "hi", "backend": "nope"}, 422, "unknown_backend"),
        ({"voice_id": "VID", "text": "hi", "lang": "xx"}, 422, "unsupported_language"),
        ({"voice_id": "VID", "text": "hi", "format": "aiff"}, 422, "unsupported_format"),
        ({"voice_id": "VID", "text": "hi", "speed": 9}, 400, "invalid_request"),
        ({"voice_id": "not-an-id", "text": "hi"}, 400, "invalid_id"),
        ({"voice_id": "00000000-0000-4000-8000-000000000000", "text": "hi"}, 404, "not_found"),
    ],
)
async def test_bad_synthesis_requests(client, user, voice_id, body, status, code) -> None:
    if body.get("voice_id") == "VID":
        body = {**body, "voice_id": voice_id}
    r = await client.post("/v1/synthesize", json=body, headers=user)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code


async def test_5000_characters_are_accepted(client, user, voice_id) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "a" * 5000}, headers=user
    )
    assert r.status_code == 202


async def test_invalid_json_is_400(client, user) -> None:
    r = await client.post(
        "/v1/synthesize", content=b"{not json", headers={**user, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_json"


async def test_other_tenant_cannot_see_or_use_anything(client, user, new_key, voice_id) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Hi."}, headers=user
    )
    job_id = r.json()["job_id"]
    await wait_for_job(client, job_id, user)
    bob = await new_key("bob")
    bob.pop("_key_id")
    for method, path, kwargs in [
        ("POST", "/v1/synthesize", {"json": {"voice_id": voice_id, "text": "Hi."}}),
        ("POST", f"/v1/text-to-speech/{voice_id}", {"json": {"text": "Hi."}}),
        ("GET", f"/v1/jobs/{job_id}", {}),
        ("GET", f"/v1/jobs/{job_id}/audio", {}),
        ("DELETE", f"/v1/jobs/{job_id}", {}),
    ]:
        r = await client.request(method, path, headers=bob, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
    assert (await client.get("/v1/jobs/nope", headers=bob)).status_code == 400


async def test_text_to_speech_is_synchronous(client, user, voice_id) -> None:
    r = await client.post(
        f"/v1/text-to-speech/{voice_id}", json={"text": "Straight to audio."}, headers=user
    )
    assert r.status_code == 200
    assert r.headers["X-Cache"] == "MISS"
    assert float(r.headers["X-Audio-Duration"]) > 0.1
    again = await client.post(
        f"/v1/text-to-speech/{voice_id}", json={"text": "Straight to audio."}, headers=user
    )
    assert again.headers["X-Cache"] == "HIT" and again.content == r.content


@pytest.mark.parametrize(
    ("output_format", "media", "rate"),
    [
        ("wav", "audio/wav", 16000),
        ("mp3_44100_128", "audio/mpeg", 44100),
        ("flac", "audio/flac", 16000),
        ("pcm_24000", None, 24000),
        ("ogg", "audio/ogg", 16000),
    ],
)
async def test_output_formats(client, user, voice_id, output_format, media, rate) -> None:
    r = await client.post(
        f"/v1/text-to-speech/{voice_id}?output_format={output_format}",
        json={"text": "Format check."},
        headers=user,
    )
    assert r.status_code == 200, r.text
    if media is None:  # raw s16le
        assert len(r.content) % 2 == 0
        duration = len(r.content) / 2 / rate
        assert duration == pytest.approx(float(r.headers["X-Audio-Duration"]), abs=0.05)
        return
    assert r.headers["content-type"] == media
    samples, got_rate = sf.read(io.BytesIO(r.content))
    assert got_rate == rate and len(samples) > 0


async def test_engine_failure_marks_the_job_failed(client, user, voice_id) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "This will FAIL."}, headers=user
    )
    job = await wait_for_job(client, r.json()["job_id"], user)
    assert job["status"] == "failed"
    assert "fake" in str(job["error"])
    audio = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert audio.status_code == 404
    assert audio.json()["error"] == "job_not_ready"


async def test_deleting_a_voice_deletes_its_cache_and_job_audio(
    client, user, voice_id, services: Services
) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Bye."}, headers=user
    )
    job_id = r.json()["job_id"]
    await wait_for_job(client, job_id, user)
    job_blob = f"jobs/{job_id}.wav"
    assert await services.blobs.exists(job_blob)
    assert (await client.delete(f"/v1/voices/{voice_id}", headers=user)).status_code == 204
    assert not await services.blobs.exists(job_blob)
    assert not list((services.settings.data_dir / "blobs" / "voices").glob(f"{voice_id}*"))
    assert (await client.get(f"/v1/jobs/{job_id}", headers=user)).status_code == 404
    async with services.sessions() as session:
        assert (await session.execute(select(CacheEntry))).scalars().all() == []
        assert (await session.execute(select(Job))).scalars().all() == []


async def test_missing_job_audio_self_heals_to_failed(client, user, voice_id, services) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Gone."}, headers=user
    )
    job_id = r.json()["job_id"]
    await wait_for_job(client, job_id, user)
    await services.blobs.delete(f"jobs/{job_id}.wav")
    r = await client.get(f"/v1/jobs/{job_id}/audio", headers=user)
    assert r.status_code == 500
    assert r.json()["error"] == "storage_error"
    assert (await client.get(f"/v1/jobs/{job_id}", headers=user)).json()["status"] == "failed"


async def test_cancel_a_slow_job(tmp_path, admin_headers) -> None:
    from voxclone.api.app import create_app
    from voxclone.services.container import build_services

    svc = build_services(make_settings(tmp_path), engines=fake_registry(delay_s=0.3))
    app = create_app(services=svc)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers=admin_headers)).json()["api_key"]
        user = {"X-API-Key": key}
        v = await c.post(
            "/v1/voices",
            data={"name": "slow"},
            files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        text = " ".join(f"Sentence number {i}." for i in range(20))
        r = await c.post(
            "/v1/synthesize",
            json={"voice_id": v.json()["voice_id"], "text": text},
            headers=user,
        )
        job_id = r.json()["job_id"]
        cancelled = await c.delete(f"/v1/jobs/{job_id}", headers=user)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        job = await wait_for_job(c, job_id, user)
        assert job["status"] == "cancelled"
        assert (await c.get(f"/v1/jobs/{job_id}/audio", headers=user)).status_code == 404
