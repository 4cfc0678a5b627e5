"""``voxclone provider serve``'s app, called directly over HTTP as any gateway would."""

from __future__ import annotations

import base64
import os

import httpx
import numpy as np
import pytest

from tests.conftest import tone_wav


def test_health_says_what_the_spec_asks_and_more(provider) -> None:
    p = provider()
    body = httpx.get(f"{p.url}/health").json()
    assert body["status"] == "healthy"
    assert body["model"] == "fake-1:16000" and body["device"] == "cpu"
    assert body["kind"] == "tts" and body["languages"] == ["en"]
    assert body["sample_rate"] == 16000 and body["cloning"] is True


def test_generate_returns_base64_float32(provider) -> None:
    p = provider()
    r = httpx.post(
        f"{p.url}/v1/generate",
        json={"text": "Two sentences. Both here.", "voice_prompt": {"pitch_hz": 300}, "seed": 1},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sample_rate"] == 16000 and body["dtype"] == "float32"
    samples = np.frombuffer(base64.b64decode(body["audio"]), dtype="<f4")
    assert 0.5 < len(samples) / 16000 < 2.0
    assert float(np.max(np.abs(samples))) == pytest.approx(0.3, abs=0.01)


def test_create_voice_prompt_from_an_upload(provider, tmp_path, monkeypatch) -> None:
    p = provider()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a" / "b").mkdir(parents=True)
    before = set(tmp_path.rglob("*"))
    r = httpx.post(
        f"{p.url}/v1/create_voice_prompt",
        files={"audio": ("../../../escape.wav", tone_wav(hz=150.0), "audio/wav")},
        data={"reference_text": "hello there"},
    )
    assert r.status_code == 200, r.text
    prompt = r.json()["voice_prompt"]
    assert prompt["transcript"] == "hello there"
    assert 60 <= prompt["pitch_hz"] <= 500
    assert set(tmp_path.rglob("*")) == before  # nothing was written, least of all escape.wav
    assert not (tmp_path.parent / "escape.wav").exists()
    assert not os.path.exists("/escape.wav")


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"json": {"text": ""}}, 400, "missing_field"),
        ({"json": {"text": "Hallo.", "language": "de"}}, 422, "unsupported_language"),
        ({"json": {"text": "This will FAIL now."}}, 500, "engine_error"),
        ({"json": {"text": "x" * 5001}}, 422, "invalid_text"),
        ({"json": {"voice_prompt": {}}}, 400, "missing_field"),
    ],
)
def test_generate_errors(provider, request_kwargs, status, code) -> None:
    p = provider()
    r = httpx.post(f"{p.url}/v1/generate", **request_kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code


def test_create_voice_prompt_errors(provider) -> None:
    p = provider()
    r = httpx.post(f"{p.url}/v1/create_voice_prompt", files={"audio": ("x", b"not audio" * 99)})
    assert r.status_code == 422 and r.json()["error"] == "invalid_audio"
    r = httpx.post(f"{p.url}/v1/create_voice_prompt", data={"reference_text": "no file"})
    assert r.status_code == 400
    r = httpx.post(
        f"{p.url}/v1/create_voice_prompt", files={"audio": ("x.wav", tone_wav(seconds=1.0))}
    )
    assert r.status_code == 422 and r.json()["error"] == "audio_duration_out_of_range"


def test_api_key(provider) -> None:
    p = provider(api_key="s3cret")
    body = {"text": "Hello."}
    assert httpx.post(f"{p.url}/v1/generate", json=body).status_code == 401
    wrong = httpx.post(f"{p.url}/v1/generate", json=body, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    ok = httpx.post(f"{p.url}/v1/generate", json=body, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200
    bearer = httpx.post(
        f"{p.url}/v1/generate", json=body, headers={"Authorization": "Bearer s3cret"}
    )
    assert bearer.status_code == 200
    assert httpx.get(f"{p.url}/health").status_code == 200  # open for load balancers


def test_transcribe_on_an_stt_engine(provider) -> None:
    p = provider(kind="stt")
    r = httpx.post(
        f"{p.url}/v1/transcribe",
        files={"audio": ("clip.flac", tone_wav(seconds=3.0, fmt="FLAC"))},
        data={"language": "en"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "3.0 seconds of audio" and body["language"] == "en"
    assert body["duration"] == pytest.approx(3.0)
    assert [(s["start"], s["end"], s["text"]) for s in body["segments"]] == [
        (0, 1, "3.0 seconds"),
        (1, 2, "of audio"),
    ]
    assert httpx.get(f"{p.url}/health").json()["kind"] == "stt"
    assert httpx.post(f"{p.url}/v1/generate", json={"text": "Hi."}).status_code == 404


def test_transcribe_failure_is_500(provider) -> None:
    p = provider(kind="stt")
    silent = np.zeros(16000, dtype=np.float32)
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, silent, 16000, format="WAV")
    r = httpx.post(f"{p.url}/v1/transcribe", files={"audio": ("s.wav", buf.getvalue())})
    assert r.status_code == 500 and r.json()["error"] == "engine_error"
    assert httpx.get(f"{p.url}/health").json()["requests"] == {"transcribe": 1, "errors": 1}
