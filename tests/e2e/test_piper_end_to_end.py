"""The real Piper engine behind the real HTTP API, and the CLI, end to end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, make_settings, wait_for_job
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine


def reference_clip() -> Path:
    """A real 5–12 s recording from the shared evaluation set."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if 5 <= float(row["duration_s"]) <= 12:
                return EVAL_SPEECH / row["path"]
    raise AssertionError("no 5–12 s clip in the evaluation manifest")


@pytest.fixture
async def piper_client(tmp_path):
    settings = make_settings(tmp_path, default_backend="piper")
    svc = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=svc)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60
        ) as c,
    ):
        yield c


async def test_voice_then_synthesis_with_piper(piper_client) -> None:
    c = piper_client
    key = (await c.post("/v1/keys", json={"label": "e2e"}, headers={"X-API-Key": ADMIN_KEY})).json()
    user = {"Authorization": f"Bearer {key['api_key']}"}
    clip = reference_clip()
    r = await c.post(
        "/v1/voices",
        data={"name": "speaker", "lang": "en", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice_id = r.json()["voice_id"]

    text = "The quick brown fox jumps over the lazy dog. It was a sunny day."
    r = await c.post("/v1/synthesize", json={"voice_id": voice_id, "text": text}, headers=user)
    assert r.status_code == 202
    job = await wait_for_job(c, r.json()["job_id"], user, timeout_s=60)
    assert job["status"] == "ready", job
    audio = await c.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    samples, rate = sf.read(io.BytesIO(audio.content), dtype="float32")
    assert rate == 22050
    seconds = len(samples) / rate
    assert 2.5 < seconds < 8.0, seconds  # about 13 words of speech
    assert float(np.sqrt(np.mean(samples**2))) > 0.01  # speech, not silence

    hit = await c.post("/v1/synthesize", json={"voice_id": voice_id, "text": text}, headers=user)
    assert hit.status_code == 200 and hit.headers["X-Cache"] == "HIT"
    assert hit.headers["X-Backend"] == "piper"

    tts = await c.post(
        f"/v1/text-to-speech/{voice_id}?output_format=mp3_22050_64",
        json={"text": "Hello from Piper."},
        headers=user,
    )
    assert tts.status_code == 200 and tts.headers["content-type"] == "audio/mpeg"
    mp3, _ = sf.read(io.BytesIO(tts.content))
    assert len(mp3) > 0.5 * 22050

    bad_lang = await c.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Hola.", "lang": "es"}, headers=user
    )
    assert bad_lang.status_code == 422 and bad_lang.json()["error"] == "unsupported_language"


def test_cli_keys_voices_and_say(tmp_path, monkeypatch) -> None:
    from voxclone.cli.main import app

    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner()

    r = runner.invoke(app, ["migrate"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["keys", "create", "--label", "cli"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("vx_")

    clip = reference_clip()
    r = runner.invoke(
        app, ["voices", "add", "narrator", str(clip), "--key", key, "--backend", "piper"]
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "out.wav"
    r = runner.invoke(
        app,
        [
            "say",
            "--voice",
            "narrator",
            "--key",
            key,
            "-o",
            str(out),
            "Hello from the command line.",
        ],
    )
    assert r.exit_code == 0, r.output
    samples, rate = sf.read(out)
    assert rate == 22050 and len(samples) / rate > 1.0

    r = runner.invoke(app, ["say", "--voice", "nobody", "--key", key, "-o", str(out), "Hi."])
    assert r.exit_code == 1
    assert "no voice named" in r.output
    r = runner.invoke(app, ["say", "--voice", "narrator", "-o", str(out), "Hi."])
    assert r.exit_code == 1
    assert "VOXCLONE_API_KEY" in r.output


def test_streamed_speech_over_a_socket(tmp_path) -> None:
    """POST /v1/text-to-speech/{id}/stream under uvicorn: Piper's sentences arrive one by one."""
    settings = make_settings(tmp_path, default_backend="piper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    clip = reference_clip()
    text = "The early train was quiet. Rain tapped against the windows. Nobody said a word."
    with ThreadServer(create_app(services=services)) as url, httpx.Client(timeout=120) as c:
        key = c.post(f"{url}/v1/keys", json={}, headers={"X-API-Key": ADMIN_KEY}).json()
        user = {"Authorization": f"Bearer {key['api_key']}"}
        r = c.post(
            f"{url}/v1/voices",
            data={"name": "speaker", "backend": "piper"},
            files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
            headers=user,
        )
        assert r.status_code == 201, r.text
        voice_id = r.json()["voice_id"]
        with c.stream(
            "POST", f"{url}/v1/text-to-speech/{voice_id}/stream", json={"text": text}, headers=user
        ) as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["X-Backend"] == "piper"
            assert streamed.headers["X-Cache"] == "MISS"
            pieces = list(streamed.iter_raw())
        whole = c.post(f"{url}/v1/text-to-speech/{voice_id}", json={"text": text}, headers=user)
    assert len(pieces) >= 2  # a sentence at a time, not one body at the end
    samples, rate = sf.read(io.BytesIO(b"".join(pieces)), dtype="float32")
    assert rate == 22050
    seconds = len(samples) / rate
    assert 3.0 < seconds < 10.0, seconds  # about 14 words of speech
    assert float(np.sqrt(np.mean(samples**2))) > 0.01  # speech, not silence
    # The stream filled the cache; the whole file is the same speech, crossfaded at the seams.
    assert whole.headers["X-Cache"] == "HIT"
    assert float(whole.headers["X-Audio-Duration"]) == pytest.approx(seconds, abs=0.05)
