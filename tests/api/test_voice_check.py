"""``POST /v1/voices/check``: the verdict of a voice's reference checks before it is saved, with
the real engines (Kokoro's checks on ``local``, none on Piper); and ``GET /v1/backends``."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.e2e.test_piper_end_to_end import reference_clip
from voxclone.config import Settings
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry


@pytest.fixture
def registry(settings: Settings) -> EngineRegistry:
    return EngineRegistry(builtin_specs(settings))


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.astype(np.float32), rate, format="WAV")
    return buf.getvalue()


async def check(client, headers, audio: bytes, **data: str):
    return await client.post(
        "/v1/voices/check", data=data, files={"ref_audio": ("r.wav", audio)}, headers=headers
    )


async def test_speech_is_usable_and_nothing_is_saved(client, user) -> None:
    r = await check(client, user, reference_clip().read_bytes(), backend="local")
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["usable"] is True and verdict["enforced"] is True
    assert verdict["checked_by"] == "local" and verdict["error"] is None
    assert verdict["checks"]["speech_s"] > 1.0 and verdict["format"] == "flac"
    assert (await client.get("/v1/voices", headers=user)).json() == []


async def test_silence_gets_the_verdict_creating_the_voice_would_get(client, user) -> None:
    silence = wav(np.zeros(16000 * 5))
    verdict = (await check(client, user, silence, backend="local")).json()
    assert verdict["usable"] is False and verdict["enforced"] is True
    assert verdict["error"] == "unusable_reference" and verdict["problem"] == "silent"
    created = await client.post(
        "/v1/voices",
        data={"name": "x", "backend": "local"},
        files={"ref_audio": ("r.wav", silence)},
        headers=user,
    )
    assert created.status_code == 422
    assert created.json()["message"] == verdict["message"]
    assert created.json()["details"]["problem"] == verdict["problem"]


async def test_an_engine_that_checks_nothing_gets_advice(client, user) -> None:
    noise = wav(np.random.default_rng(1).normal(0, 0.2, 16000 * 5))
    verdict = (await check(client, user, noise, backend="piper")).json()
    assert verdict["usable"] is False and verdict["problem"] == "noise"
    assert verdict["enforced"] is False and verdict["checked_by"] == "local"


async def test_a_clip_too_short_is_not_usable(client, user) -> None:
    verdict = (await check(client, user, wav(np.zeros(16000 * 2)), backend="piper")).json()
    assert verdict["usable"] is False and verdict["error"] == "audio_duration_out_of_range"
    assert "between 3 and 60 s" in verdict["message"] and verdict["duration_s"] == 2.0


@pytest.mark.parametrize(
    ("files", "data", "code"),
    [
        ({"ref_audio": ("r.wav", b"not audio at all")}, {"backend": "piper"}, "invalid_audio"),
        (None, {"backend": "piper"}, "missing_field"),
        (
            {"ref_audio": ("r.wav", wav(np.zeros(16000 * 4)))},
            {"backend": "nope"},
            "unknown_backend",
        ),
    ],
)
async def test_bad_requests_are_json_errors(client, user, files, data, code) -> None:
    r = await client.post("/v1/voices/check", data=data, files=files, headers=user)
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"] == code


async def test_checks_need_a_key(client) -> None:
    r = await client.post("/v1/voices/check", files={"ref_audio": ("r.wav", b"x")})
    assert r.status_code == 401


async def test_backends_lists_the_tts_engines(client, user) -> None:
    r = await client.get("/v1/backends", headers=user)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["backends"]) == {"local", "piper"} and body["default_backend"]
