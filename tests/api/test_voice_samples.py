"""A voice's reference samples over HTTP: add, list, play, remove, limits, tenant isolation.

The engine here does not fit (the fake one): a change of samples recomputes the voice's prompt
at once. Refits of a fitting engine are in test_voice_refit.py.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.services.container import build_services


async def add(client, headers, voice_id, audio, **data):
    return await client.post(
        f"/v1/voices/{voice_id}/samples",
        data=data,
        files={"audio": ("s.wav", audio, "audio/wav")},
        headers=headers,
    )


def sine(hz: float, seconds: float = 4.0, fmt: str = "WAV") -> bytes:
    """A pure tone: the fake engine hears its pitch exactly (tone_wav's noise reads as 500)."""
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate, format=fmt)
    return buf.getvalue()


def pitch_of(wav: bytes) -> float:
    """Zero crossings per second / 2: the fake engine's tone frequency."""
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    crossings = np.count_nonzero(np.signbit(samples[1:]) != np.signbit(samples[:-1]))
    return float(crossings / (2 * len(samples) / rate))


async def speak(client, headers, voice_id, text) -> bytes:
    r = await client.post(
        f"/v1/text-to-speech/{voice_id}?output_format=wav", json={"text": text}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.content


async def test_a_voice_starts_with_its_reference_as_its_one_sample(client, user, voice_id):
    r = await client.get(f"/v1/voices/{voice_id}/samples", headers=user)
    assert r.status_code == 200, r.text
    (sample,) = r.json()["samples"]
    assert sample["sample_id"] == voice_id and sample["primary"] is True
    assert sample["ref_text"] == "hello there"
    played = await client.get(f"/v1/voices/{voice_id}/samples/{voice_id}/audio", headers=user)
    assert played.status_code == 200 and played.content == tone_wav()
    assert played.headers["content-type"] == "audio/wav"


async def test_add_list_play_remove(client, user, voice_id):
    low = pitch_of(await speak(client, user, voice_id, "Before the change."))
    second = sine(150.0, seconds=5.0, fmt="FLAC")
    r = await add(client, user, voice_id, second, ref_text="a second clip")
    assert r.status_code == 201, r.text
    body = r.json()
    new_id = body["sample"]["sample_id"]
    assert body["sample"]["format"] == "flac" and 4.9 < body["sample"]["duration_s"] < 5.1
    assert body["sample"]["ref_text"] == "a second clip" and not body["sample"]["primary"]
    assert body["voice"]["status"] == "ready" and body["voice"]["refitting"] is False

    listed = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()
    assert [s["sample_id"] for s in listed["samples"]] == [voice_id, new_id]
    assert [s["position"] for s in listed["samples"]] == [0, 1]
    assert 8.9 < listed["total_duration_s"] < 9.1
    played = await client.get(f"/v1/voices/{voice_id}/samples/{new_id}/audio", headers=user)
    assert played.content == second and played.headers["content-type"] == "audio/flac"

    # Not a fitting engine: the prompt was recomputed from both samples at once.
    both = pitch_of(await speak(client, user, voice_id, "After the change."))
    assert both < low * 0.8, (low, both)

    # Removing the first sample makes the second the voice's reference.
    r = await client.delete(f"/v1/voices/{voice_id}/samples/{voice_id}", headers=user)
    assert r.status_code == 200, r.text
    assert r.json()["voice"]["ref_format"] == "flac"
    assert r.json()["voice"]["ref_text"] == "a second clip"
    (only,) = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert only["sample_id"] == new_id and only["primary"] is True
    ref = await client.get(f"/v1/voices/{voice_id}/reference", headers=user)
    assert ref.status_code == 200 and ref.content == second
    gone = await client.get(f"/v1/voices/{voice_id}/samples/{voice_id}/audio", headers=user)
    assert gone.status_code == 404
    alone = pitch_of(await speak(client, user, voice_id, "Only the second one."))
    assert alone < both and abs(alone - 150.0) < 5, (both, alone)

    # The last sample stays.
    r = await client.delete(f"/v1/voices/{voice_id}/samples/{new_id}", headers=user)
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    assert "last sample" in r.json()["message"]
    assert (
        len((await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"])
        == 1
    )


async def test_cached_audio_is_not_reused_after_the_samples_change(client, user, voice_id):
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Cache me."}, headers=user
    )
    assert r.status_code == 202
    from tests.conftest import wait_for_job

    assert (await wait_for_job(client, r.json()["job_id"], user))["status"] == "ready"
    hit = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Cache me."}, headers=user
    )
    assert hit.status_code == 200 and hit.headers["x-cache"] == "HIT"
    assert (await add(client, user, voice_id, sine(150.0), ref_text="x")).status_code == 201
    miss = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Cache me."}, headers=user
    )
    assert miss.status_code == 202, "the old voice's audio must not be served for the new one"


async def test_bad_samples_are_refused_and_change_nothing(client, user, voice_id):
    cases = [
        (tone_wav(seconds=0.5), 422, "audio_duration_out_of_range"),
        (b"not audio at all" * 100, 422, "invalid_audio"),
    ]
    for audio, status, code in cases:
        r = await add(client, user, voice_id, audio, ref_text="x")
        assert r.status_code == status and r.json()["error"] == code, r.text
    r = await client.post(
        f"/v1/voices/{voice_id}/samples",
        data={"ref_text": "x"},
        files={"x": ("a", b"1")},
        headers=user,
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "audio"
    samples = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert len(samples) == 1
    bad = await client.get(f"/v1/voices/{voice_id}/samples/nope/audio", headers=user)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_id"
    missing = "00000000-0000-4000-8000-000000000000"
    r = await client.delete(f"/v1/voices/{voice_id}/samples/{missing}", headers=user)
    assert r.status_code == 404


@pytest.fixture
async def tight(
    tmp_path: Path, database_url: str, admin_headers
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A server whose voices may hold 3 samples and 12 s of reference in all."""
    settings = make_settings(
        tmp_path / "data",
        database_url=database_url,
        limits={"max_voice_samples": 3, "max_voice_reference_seconds": 12.0},
    )
    app = create_app(services=build_services(settings, engines=fake_registry()))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers=admin_headers)).json()["api_key"]
        yield c, {"X-API-Key": key}


async def test_total_seconds_and_count_are_bounded(tight):
    c, user = tight
    r = await c.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "one"},
        files={"ref_audio": ("r.wav", tone_wav(seconds=4.0), "audio/wav")},
        headers=user,
    )
    voice_id = r.json()["voice_id"]
    assert (await add(c, user, voice_id, tone_wav(seconds=4.0), ref_text="two")).status_code == 201
    r = await add(c, user, voice_id, tone_wav(seconds=5.0), ref_text="three")
    assert r.status_code == 422 and r.json()["error"] == "audio_duration_out_of_range"
    assert r.json()["details"]["max_s"] == 12.0
    assert (
        await add(c, user, voice_id, tone_wav(seconds=3.5), ref_text="three")
    ).status_code == 201
    r = await add(c, user, voice_id, tone_wav(seconds=3.0), ref_text="four")
    assert r.status_code == 409 and r.json()["details"]["max_samples"] == 3
    samples = (await c.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert len(samples) == 3


async def test_every_new_route_is_404_for_another_key(client, user, new_key, voice_id):
    """Tenant isolation, as a matrix over the routes that take a voice or sample id."""
    sample = (await add(client, user, voice_id, tone_wav(hz=300.0), ref_text="x")).json()
    sample_id = sample["sample"]["sample_id"]
    bob = await new_key("bob")
    bob.pop("_key_id")
    wav = {"audio": ("s.wav", tone_wav(), "audio/wav")}
    routes = [
        ("GET", f"/v1/voices/{voice_id}/samples", {}),
        ("POST", f"/v1/voices/{voice_id}/samples", {"files": wav, "data": {"ref_text": "x"}}),
        ("GET", f"/v1/voices/{voice_id}/samples/{sample_id}/audio", {}),
        ("GET", f"/v1/voices/{voice_id}/samples/{voice_id}/audio", {}),
        ("DELETE", f"/v1/voices/{voice_id}/samples/{sample_id}", {}),
        ("GET", f"/v1/voices/{voice_id}/export", {}),
        ("PATCH", f"/v1/voices/{voice_id}", {"json": {"tags": ["x"], "description": "x"}}),
    ]
    for method, path, extra in routes:
        r = await client.request(method, path, headers=bob, **extra)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"] == "not_found"
    listed = await client.get("/v1/voices?tag=x&cursor=", headers=bob)
    assert listed.json()["voices"] == []
    # The owner's voice is untouched.
    samples = (await client.get(f"/v1/voices/{voice_id}/samples", headers=user)).json()["samples"]
    assert [s["sample_id"] for s in samples] == [voice_id, sample_id]
    assert (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()["tags"] == []
