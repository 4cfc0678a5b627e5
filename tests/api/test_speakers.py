"""Voice biometrics over HTTP with the real Resemblyzer encoder, Silero VAD and eval speech."""

from __future__ import annotations

import io
import struct

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import EVAL_SPEECH, fake_registry, wait_for_job
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services

pytestmark = pytest.mark.engine

A1 = "librispeech_test-other/1688/1688-142285-0003.flac"  # 5.1 s, speaker 1688 (M)
A2 = "librispeech_test-other/1688/1688-142285-0004.flac"  # 4.5 s
A3 = "librispeech_test-other/1688/1688-142285-0006.flac"  # 8.1 s
B1 = "librispeech_test-other/1998/1998-15444-0001.flac"  # 6.0 s, speaker 1998 (F)
B2 = "librispeech_test-other/1998/1998-15444-0006.flac"  # 6.4 s
RATE = 16000


@pytest.fixture
def registry() -> EngineRegistry:
    registry = fake_registry()
    registry.register(
        EngineSpec("resemblyzer", "voxclone.engines.speaker:ResemblyzerEmbedder", kind="embed")
    )
    return registry


def clip(path: str) -> bytes:
    return (EVAL_SPEECH / path).read_bytes()


def samples(path: str) -> np.ndarray:
    data, rate = sf.read(EVAL_SPEECH / path, dtype="float32")
    assert rate == RATE
    return np.asarray(data, dtype=np.float32)


def wav(data: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def audio_file(data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"audio": ("clip.bin", data, "application/octet-stream")}


async def speaker(client: httpx.AsyncClient, headers, name: str, audio: bytes | None = None):
    if audio is None:
        r = await client.post("/v1/speakers", json={"name": name}, headers=headers)
    else:
        r = await client.post(
            "/v1/speakers", data={"name": name}, files=audio_file(audio), headers=headers
        )
    assert r.status_code == 201, r.text
    return r.json()


async def enroll(client: httpx.AsyncClient, headers, speaker_id: str, audio: bytes):
    return await client.post(
        f"/v1/speakers/{speaker_id}/enrollments", files=audio_file(audio), headers=headers
    )


async def verify(client: httpx.AsyncClient, headers, speaker_id: str, audio: bytes, **data):
    return await client.post(
        f"/v1/speakers/{speaker_id}/verify", data=data, files=audio_file(audio), headers=headers
    )


async def test_enroll_verify_identify(client, user, services: Services) -> None:
    alice = await speaker(client, user, "alice", clip(A1))
    assert alice["enrolled"] and alice["enrollment_count"] == 1
    assert 3.0 < alice["speech_s"] <= 5.1

    same = await verify(client, user, alice["speaker_id"], clip(A2))
    assert same.status_code == 200, same.text
    body = same.json()
    threshold = services.settings.biometrics.threshold
    assert body["match"] is True and body["score"] >= threshold == body["threshold"]
    assert body["speaker_id"] == alice["speaker_id"]

    other = (await verify(client, user, alice["speaker_id"], clip(B1))).json()
    assert other["match"] is False and other["score"] < threshold
    assert other["score"] < body["score"] - 0.1

    # a threshold override decides the match on the same score
    lenient = (await verify(client, user, alice["speaker_id"], clip(B1), threshold="-1")).json()
    assert lenient["match"] is True and lenient["threshold"] == -1.0

    bob = await speaker(client, user, "bob")
    assert not bob["enrolled"] and bob["enrollment_count"] == 0
    r = await enroll(client, user, bob["speaker_id"], clip(B2))
    assert r.status_code == 201, r.text
    assert r.json()["speaker"]["enrollment_count"] == 1

    ident = await client.post("/v1/speakers/identify", files=audio_file(clip(A3)), headers=user)
    assert ident.status_code == 200, ident.text
    candidates = ident.json()["candidates"]
    assert candidates[0]["speaker_id"] == alice["speaker_id"]
    assert candidates[0]["name"] == "alice"
    assert all(c["score"] >= ident.json()["threshold"] for c in candidates)
    assert bob["speaker_id"] not in [c["speaker_id"] for c in candidates]
    everyone = await client.post(
        "/v1/speakers/identify",
        data={"threshold": "-1", "top_k": "5"},
        files=audio_file(clip(B1)),
        headers=user,
    )
    ranked = everyone.json()["candidates"]
    assert [c["speaker_id"] for c in ranked] == [bob["speaker_id"], alice["speaker_id"]]
    assert ranked[0]["score"] > ranked[1]["score"]

    # a second enrollment updates the print, the count and the seconds of speech
    before = (await client.get(f"/v1/speakers/{alice['speaker_id']}", headers=user)).json()
    r = await enroll(client, user, alice["speaker_id"], clip(A3))
    assert r.status_code == 201, r.text
    after = r.json()["speaker"]
    assert after["enrollment_count"] == 2
    assert after["speech_s"] == pytest.approx(
        before["speech_s"] + r.json()["enrollment"]["speech_s"], abs=0.01
    )
    rescored = (await verify(client, user, alice["speaker_id"], clip(A2))).json()
    assert rescored["score"] != body["score"] and rescored["match"]

    listed = await client.get(f"/v1/speakers/{alice['speaker_id']}/enrollments", headers=user)
    enrollments = listed.json()
    assert len(enrollments) == 2
    for e in enrollments:
        key = f"enrollments/{alice['speaker_id']}/{e['enrollment_id']}.wav"
        assert await services.blobs.exists(key)

    # removing an enrollment recomputes the print from the rest
    first = enrollments[0]["enrollment_id"]
    r = await client.delete(f"/v1/speakers/{alice['speaker_id']}/enrollments/{first}", headers=user)
    assert r.status_code == 200 and r.json()["enrollment_count"] == 1
    assert r.json()["speech_s"] == pytest.approx(enrollments[1]["speech_s"], abs=0.01)
    assert not await services.blobs.exists(f"enrollments/{alice['speaker_id']}/{first}.wav")

    assert [s["name"] for s in (await client.get("/v1/speakers", headers=user)).json()] == [
        "bob",
        "alice",
    ]
    page = await client.get("/v1/speakers", params={"limit": 1, "offset": 1}, headers=user)
    assert [s["name"] for s in page.json()] == ["alice"]

    assert (
        await client.delete(f"/v1/speakers/{alice['speaker_id']}", headers=user)
    ).status_code == 204
    assert (
        await client.get(f"/v1/speakers/{alice['speaker_id']}", headers=user)
    ).status_code == 404
    assert not await services.blobs.exists(
        f"enrollments/{alice['speaker_id']}/{enrollments[1]['enrollment_id']}.wav"
    )


async def test_create_speaker_json_form_and_meta(client, user) -> None:
    r = await client.post(
        "/v1/speakers", json={"name": "carol", "meta": {"employee": 7}}, headers=user
    )
    assert r.status_code == 201 and r.json()["meta"] == {"employee": 7}
    r = await client.post("/v1/speakers", data={"name": "dave", "meta": '{"a": 1}'}, headers=user)
    assert r.status_code == 201 and r.json()["meta"] == {"a": 1}
    for body in ({}, {"name": "   "}):
        r = await client.post("/v1/speakers", json=body, headers=user)
        assert r.status_code == 400 and r.json()["error"] == "missing_field", r.text
    r = await client.post("/v1/speakers", data={"name": "x", "meta": "[1]"}, headers=user)
    assert r.status_code == 400 and "meta" in r.json()["message"]
    r = await client.post("/v1/speakers", json={"name": "x" * 201}, headers=user)
    assert r.status_code == 400


async def test_other_keys_cannot_see_or_use_a_speaker(client, user, new_key) -> None:
    alice = await speaker(client, user, "alice", clip(A1))
    sid = alice["speaker_id"]
    enrollment = (await client.get(f"/v1/speakers/{sid}/enrollments", headers=user)).json()[0]
    mallory = await new_key("mallory")
    mallory.pop("_key_id")
    for method, path in [
        ("GET", f"/v1/speakers/{sid}"),
        ("DELETE", f"/v1/speakers/{sid}"),
        ("GET", f"/v1/speakers/{sid}/enrollments"),
        ("DELETE", f"/v1/speakers/{sid}/enrollments/{enrollment['enrollment_id']}"),
    ]:
        r = await client.request(method, path, headers=mallory)
        assert r.status_code == 404 and r.json()["error"] == "not_found", (method, path)
    r = await verify(client, mallory, sid, clip(A2))
    assert r.status_code == 404
    r = await enroll(client, mallory, sid, clip(B1))
    assert r.status_code == 404
    assert (await client.get("/v1/speakers", headers=mallory)).json() == []

    # mallory's own speaker never brings alice's into her identify results
    await speaker(client, mallory, "mallory-self", clip(B1))
    r = await client.post(
        "/v1/speakers/identify",
        data={"threshold": "-1"},
        files=audio_file(clip(A2)),
        headers=mallory,
    )
    assert [c["name"] for c in r.json()["candidates"]] == ["mallory-self"]
    r = await client.post(
        "/v1/biometrics/jobs",
        data={"speaker_ids": sid},
        files=audio_file(clip(A2)),
        headers=mallory,
    )
    assert r.status_code == 404
    assert (await client.get(f"/v1/speakers/{sid}", headers=user)).json()["enrollment_count"] == 1


async def test_malformed_ids_are_400(client, user) -> None:
    alice = await speaker(client, user, "alice")
    for method, path in [
        ("GET", "/v1/speakers/not-an-id"),
        ("DELETE", "/v1/speakers/not-an-id"),
        ("POST", "/v1/speakers/not-an-id/verify"),
        ("DELETE", f"/v1/speakers/{alice['speaker_id']}/enrollments/nope"),
    ]:
        r = await client.request(method, path, headers=user)
        assert r.status_code == 400 and r.json()["error"] == "invalid_id", (method, path, r.text)


def two_hour_wav() -> bytes:
    """A valid WAV whose header says two hours (1 kHz, 8 bit: 7.2 MB, under the size limit)."""
    rate, seconds = 1000, 2 * 3600
    return wav(np.zeros(rate * seconds, dtype=np.float32), rate=rate, subtype="PCM_U8")


def lying_header_wav() -> bytes:
    """A WAV header declaring two hours of 16 kHz audio, followed by one second of it."""
    data = wav(np.zeros(RATE, dtype=np.float32))
    declared = RATE * 2 * 7200
    return (
        data[:4]
        + struct.pack("<I", declared + 36)
        + data[8:40]
        + struct.pack("<I", declared)
        + data[44:]
    )


BAD_AUDIO = {
    "silence": (wav(np.zeros(3 * RATE, dtype=np.float32)), 422, "insufficient_speech"),
    "white_noise": (
        wav((0.3 * np.random.default_rng(1).standard_normal(3 * RATE)).astype(np.float32)),
        422,
        "insufficient_speech",
    ),
    "0.2s": (wav(samples(A1)[RATE : RATE + RATE // 5]), 422, "insufficient_speech"),
    "garbage": (b"this is not audio at all" * 50, 422, "invalid_audio"),
    "lying_header": (lying_header_wav(), 422, "invalid_audio"),
}


@pytest.mark.parametrize("case", list(BAD_AUDIO))
async def test_bad_audio_is_refused_with_a_reason(client, user, case: str) -> None:
    data, status, code = BAD_AUDIO[case]
    target = await speaker(client, user, "target", clip(A1))
    for path in (
        f"/v1/speakers/{target['speaker_id']}/enrollments",
        f"/v1/speakers/{target['speaker_id']}/verify",
        "/v1/speakers/identify",
    ):
        r = await client.post(path, files=audio_file(data), headers=user)
        assert r.status_code == status, (path, r.text)
        body = r.json()
        assert body["error"] == code, (path, body)
        if code == "insufficient_speech":
            assert "s of speech" in body["message"]
            assert body["details"]["speech_s"] < 1.0 and body["details"]["min_speech_s"] == 1.0
    r = await client.post(
        "/v1/speakers", data={"name": "never"}, files=audio_file(data), headers=user
    )
    assert r.status_code == status
    names = [s["name"] for s in (await client.get("/v1/speakers", headers=user)).json()]
    assert names == ["target"]  # a refused enrollment creates no speaker
    got = (await client.get(f"/v1/speakers/{target['speaker_id']}", headers=user)).json()
    assert got["enrollment_count"] == 1


async def test_too_long_missing_audio_and_no_enrollment(client, user) -> None:
    import time

    target = await speaker(client, user, "target")
    sid = target["speaker_id"]
    # no enrollment yet: a clear 409 before any audio work
    r = await verify(client, user, sid, clip(A1))
    assert r.status_code == 409 and r.json()["error"] == "speaker_not_enrolled"
    assert "enroll" in r.json()["message"]
    r = await client.post("/v1/speakers/identify", files=audio_file(clip(A1)), headers=user)
    assert r.status_code == 409
    r = await client.post("/v1/biometrics/jobs", files=audio_file(clip(A1)), headers=user)
    assert r.status_code == 409

    r = await enroll(client, user, sid, clip(A1))
    assert r.status_code == 201
    long = two_hour_wav()
    for path in (
        f"/v1/speakers/{sid}/enrollments",
        f"/v1/speakers/{sid}/verify",
        "/v1/biometrics/jobs",
    ):
        started = time.perf_counter()
        r = await client.post(path, files=audio_file(long), headers=user)
        assert r.status_code == 422 and r.json()["error"] == "audio_duration_out_of_range", path
        assert r.json()["details"]["duration_s"] == 7200
        assert time.perf_counter() - started < 2.0  # refused from the header

    for path in (
        f"/v1/speakers/{sid}/enrollments",
        f"/v1/speakers/{sid}/verify",
        "/v1/biometrics/jobs",
    ):
        r = await client.post(
            path, data={"threshold": "0.5"}, files={"other": ("x", b"1")}, headers=user
        )
        assert r.status_code == 400 and r.json()["error"] == "missing_field", path
        r = await client.post(path, json={"audio": "x"}, headers=user)
        assert r.status_code == 400, path
    r = await verify(client, user, sid, clip(A2), threshold="1.5")
    assert r.status_code == 422 and "threshold" in r.json()["message"]
    r = await verify(client, user, sid, clip(A2), threshold="high")
    assert r.status_code == 400


async def test_job_finds_who_speaks_when(client, user, services: Services) -> None:
    alice = await speaker(client, user, "alice", clip(A1))
    bob = await speaker(client, user, "bob", clip(B1))
    pause = np.zeros(int(1.5 * RATE), dtype=np.float32)
    a, b = samples(A3), samples(B2)
    recording = np.concatenate([pause, a, pause, b, pause])
    boundary = (len(pause) + len(a)) / RATE  # alice speaks before, bob after

    r = await client.post("/v1/biometrics/jobs", files=audio_file(wav(recording)), headers=user)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert r.json()["kind"] == "biometrics" and r.headers["location"] == f"/v1/jobs/{job_id}"
    assert await services.blobs.exists(f"jobs/{job_id}/input.wav")

    job = await wait_for_job(client, job_id, user, timeout_s=120)
    assert job["status"] == "ready", job
    assert job["progress"] == 1.0 and job["audio_url"] is None
    assert not await services.blobs.exists(f"jobs/{job_id}/input.wav")  # the result is all it keeps
    result = job["result"]
    assert isinstance(result, dict)
    assert result["threshold"] == services.settings.biometrics.threshold
    segments = result["segments"]
    labelled = [s for s in segments if s["speaker_id"] is not None]
    assert labelled, segments
    for s in labelled:
        expected = alice if s["end"] <= boundary + 0.1 else bob
        assert s["start"] >= boundary - 0.1 or s["end"] <= boundary + 0.1, s
        assert s["speaker_id"] == expected["speaker_id"], (s, boundary)
        assert s["name"] == expected["name"] and s["score"] >= result["threshold"]
    speech = {x["speaker_id"]: x["speech_s"] for x in result["speakers"]}
    assert speech[alice["speaker_id"]] > 0.6 * len(a) / RATE
    assert speech[bob["speaker_id"]] > 0.6 * len(b) / RATE
    unknown = sum(s["end"] - s["start"] for s in segments if s["speaker_id"] is None)
    assert unknown < 0.25 * (len(a) + len(b)) / RATE

    # limited to bob only: alice's part is nobody's
    r = await client.post(
        "/v1/biometrics/jobs",
        data={"speaker_ids": bob["speaker_id"]},
        files=audio_file(wav(recording)),
        headers=user,
    )
    assert r.status_code == 202, r.text
    only_bob = await wait_for_job(client, r.json()["job_id"], user, timeout_s=120)
    assert only_bob["status"] == "ready", only_bob
    result = only_bob["result"]
    assert isinstance(result, dict)
    assert {s["speaker_id"] for s in result["segments"]} <= {bob["speaker_id"], None}
    assert result["searched"] == [bob["speaker_id"]]
    for s in result["segments"]:
        if s["end"] <= boundary:  # alice's part: not taken for bob at the default threshold
            assert s["speaker_id"] is None, s
    assert any(s["speaker_id"] == bob["speaker_id"] for s in result["segments"])


async def test_a_failed_job_keeps_no_recording(
    client, user, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxclone.core.errors import VoxcloneError
    from voxclone.services import voiceprints

    def broken(*args: object, **kwargs: object) -> None:
        raise VoxcloneError("the windows could not be cut")

    monkeypatch.setattr(voiceprints, "windows", broken)
    await speaker(client, user, "alice", clip(A1))
    r = await client.post("/v1/biometrics/jobs", files=audio_file(clip(A2)), headers=user)
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_id"], user, timeout_s=120)
    assert job["status"] == "failed" and "windows" in job["error"], job
    assert not await services.blobs.exists(f"jobs/{job['job_id']}/input.wav")
