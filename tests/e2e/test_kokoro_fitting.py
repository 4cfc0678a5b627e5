"""The built-in engine `local`: Kokoro fitted to a real reference, through the API and the CLI."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import ADMIN_KEY, make_settings, tone_wav, wait_for_job
from tests.e2e.test_piper_end_to_end import reference_clip
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.astype(np.float32), rate, format="WAV")
    return buf.getvalue()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kokoro")


@pytest.fixture
async def local_client(data_dir):
    settings = make_settings(data_dir, default_backend="local")
    svc = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=svc)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=120
        ) as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers={"X-API-Key": ADMIN_KEY})).json()
        yield c, {"Authorization": f"Bearer {key['api_key']}"}


async def test_fitted_voice_speaks(local_client) -> None:
    c, user = local_client
    clip = reference_clip()
    r = await c.post(
        "/v1/voices",
        data={"name": "fitted"},
        files={"ref_audio": (clip.name, clip.read_bytes())},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["backend"] == "local" and voice["status"] == "fitting"

    deadline = time.monotonic() + 240
    while voice["status"] == "fitting" and time.monotonic() < deadline:
        await asyncio.sleep(1)
        voice = (await c.get(f"/v1/voices/{voice['voice_id']}", headers=user)).json()
    assert voice["status"] == "ready", voice
    job = (await c.get(f"/v1/jobs/{voice['fit_job_id']}", headers=user)).json()
    assert job["status"] == "ready" and job["kind"] == "fit_voice"

    r = await c.post(
        "/v1/synthesize",
        json={"voice_id": voice["voice_id"], "text": "A fitted voice reads this sentence."},
        headers=user,
    )
    job = await wait_for_job(c, r.json()["job_id"], user, timeout_s=120)
    assert job["status"] == "ready", job
    audio = await c.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    samples, rate = sf.read(io.BytesIO(audio.content), dtype="float32")
    assert rate == 24000
    assert 1.5 < len(samples) / rate < 6.0
    assert float(np.sqrt(np.mean(samples**2))) > 0.01


@pytest.mark.parametrize(
    ("case", "audio", "problem"),
    [
        ("silence", wav(np.zeros(16000 * 5)), "silent"),
        ("white noise", wav(np.random.default_rng(1).normal(0, 0.2, 16000 * 5)), "noise"),
    ],
)
async def test_unusable_reference_is_422(local_client, case, audio, problem) -> None:
    c, user = local_client
    r = await c.post(
        "/v1/voices", data={"name": case}, files={"ref_audio": ("r.wav", audio)}, headers=user
    )
    assert r.status_code == 422, (case, r.text)
    body = r.json()
    assert body["error"] == "unusable_reference"
    assert body["details"]["problem"] == problem
    assert (await c.get("/v1/voices", headers=user)).json() == []


async def test_a_tone_is_not_a_voice(local_client) -> None:
    c, user = local_client
    r = await c.post(
        "/v1/voices",
        data={"name": "tone"},
        files={"ref_audio": ("r.wav", tone_wav(5.0))},
        headers=user,
    )
    assert r.status_code == 422 and r.json()["error"] == "unusable_reference"


def test_cli_fits_with_a_progress_bar(data_dir, tmp_path, monkeypatch) -> None:
    from voxclone.cli.main import app

    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VOXCLONE_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    key = runner.invoke(app, ["keys", "create"]).stdout.strip().splitlines()[-1]
    r = runner.invoke(app, ["voices", "add", "cli-fitted", str(reference_clip()), "--key", key])
    assert r.exit_code == 0, r.output
    assert "fitting the voice" in r.output
    out = tmp_path / "fitted.wav"
    r = runner.invoke(app, ["say", "-v", "cli-fitted", "--key", key, "-o", str(out), "Hello."])
    assert r.exit_code == 0, r.output
    assert sf.info(out).samplerate == 24000


async def test_one_shot_speaks_the_nearest_voice_at_once_and_the_fit_serves_the_clip_after(
    local_client,
) -> None:
    c, user = local_client
    clip = reference_clip().read_bytes()
    key = {"X-API-Key": user["Authorization"].removeprefix("Bearer ")}

    async def one_shot() -> httpx.Response:
        r = await c.post(
            "/api/v1/voice/synthesize",
            data={"text": "A voice cloned from one clip.", "language": "en"},
            files={"reference_audio": ("ref.wav", clip)},
            headers=key,
        )
        assert r.status_code == 200, r.text
        return r

    first = await one_shot()
    assert first.headers["X-Voice-Prompt"] == "nearest"
    samples, rate = sf.read(io.BytesIO(first.content), dtype="float32")
    assert rate == 24000 and float(np.sqrt(np.mean(samples**2))) > 0.01
    deadline = time.monotonic() + 240
    while (again := await one_shot()).headers["X-Voice-Prompt"] != "cached":
        assert time.monotonic() < deadline, "the background fit never landed"
        await asyncio.sleep(2)
    assert again.content != first.content  # the fitted recipe, not the nearest voice
