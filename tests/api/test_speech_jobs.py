"""Speech to text and noise suppression of audio longer than a synchronous call takes
(``limits.max_sync_speech_audio_s``, lowered here to 2 s): 202 and a job, whose result is what
the synchronous route answers for the same audio on a server with the default limit. Real
Whisper tiny.en and DeepFilterNet3, real clips from the evaluation set."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, fake_registry, make_settings, wait_for_job
from tests.denoise_audio import wav_bytes, with_white_noise
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

pytestmark = pytest.mark.engine

SYNC_LIMIT_S = 2.0
SPEECH = EVAL_SPEECH / "vctk/p225/p225_020.wav"  # 5.2 s, 16 kHz
ASYNC = {"Prefer": "respond-async"}

Client = tuple[httpx.AsyncClient, dict[str, str]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> EngineRegistry:
    """Whisper and DeepFilterNet loaded once for the module, shared by both servers."""
    settings = make_settings(tmp_path_factory.mktemp("engines"))
    registry = fake_registry()
    registry.register(next(s for s in builtin_specs(settings) if s.name == "whisper"))
    registry.register(
        EngineSpec("deepfilternet", "voxclone.engines.deepfilter:DeepFilterEngine", kind="denoise")
    )
    registry.get_stt("whisper")
    registry.get_denoiser("deepfilternet")
    return registry


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path / "data",
        database_url=database_url,
        default_stt_backend="whisper",
        limits={"max_sync_speech_audio_s": SYNC_LIMIT_S},
    )


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def make_key(client: httpx.AsyncClient, label: str) -> dict[str, str]:
    r = await client.post("/v1/keys", json={"label": label}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


@pytest.fixture
async def reference(tmp_path: Path, registry: EngineRegistry) -> AsyncIterator[Client]:
    """A server with the default limit, which answers the same audio synchronously."""
    data_dir = tmp_path / "reference"
    settings = make_settings(
        data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'voxclone.db'}",
        default_stt_backend="whisper",
    )
    assert settings.limits.max_sync_speech_audio_s > 10
    async with serving(build_services(settings, engines=registry)) as client:
        yield client, await make_key(client, "reference")


Post = Callable[..., Awaitable[httpx.Response]]


def poster(client: httpx.AsyncClient, headers: dict[str, str]) -> Post:
    async def post(
        path: str,
        audio: bytes,
        *,
        field: str = "file",
        extra: dict[str, str] | None = None,
        **data: str,
    ) -> httpx.Response:
        return await client.post(
            path,
            data=data,
            files={field: ("clip.bin", audio, "application/octet-stream")},
            headers={**headers, **(extra or {})},
        )

    return post


async def finished(
    client: httpx.AsyncClient, answer: httpx.Response, headers: dict[str, str]
) -> dict[str, Any]:
    """The job a 202 named, once it has ended."""
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/v1/jobs/{job['job_id']}"
    assert job["status"] == "pending" and job["audio_url"] is None and job["result_url"] is None
    return dict(await wait_for_job(client, job["job_id"], headers, timeout_s=120))


def noisy(seconds: float) -> bytes:
    samples, rate = sf.read(SPEECH, dtype="float32")
    return wav_bytes(with_white_noise(samples[: int(seconds * rate)], snr_db=5.0), int(rate))


# --- speech to text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "form"),
    [
        ("/v1/transcribe", "audio", {}),
        ("/v1/audio/transcriptions", "file", {"response_format": "verbose_json"}),
        ("/v1/audio/transcriptions", "file", {"response_format": "srt"}),
    ],
)
async def test_a_long_transcription_is_a_job_whose_result_is_the_synchronous_answer(
    client: httpx.AsyncClient,
    user: dict[str, str],
    reference: Client,
    path: str,
    field: str,
    form: dict[str, str],
) -> None:
    audio = SPEECH.read_bytes()
    extra = {} if path == "/v1/transcribe" else ASYNC  # OpenAI's route: only when asked
    answer = await poster(client, user)(path, audio, field=field, extra=extra, **form)
    assert answer.json()["kind"] == "transcribe"
    job = await finished(client, answer, user)
    assert job["status"] == "ready", job
    assert job["audio_url"] is None and job["result_url"].endswith(
        f"/v1/jobs/{job['job_id']}/result"
    )
    result = await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)

    ref_client, ref_user = reference
    sync = await poster(ref_client, ref_user)(path, audio, field=field, **form)
    assert sync.status_code == 200, sync.text
    assert result.status_code == 200, result.text
    assert result.content == sync.content
    assert result.headers["content-type"] == sync.headers["content-type"]
    for header in ("x-audio-duration", "x-backend"):
        assert result.headers[header] == sync.headers[header]
    assert "the" in result.text.lower()  # real words: "...the..."


async def test_openai_routes_refuse_long_audio_with_413_naming_the_limit(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    post = poster(client, user)
    r = await post("/v1/audio/transcriptions", SPEECH.read_bytes(), model="whisper-1")
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["error"] == "audio_too_long_for_sync"
    assert (
        "limits.max_sync_speech_audio_s" in body["message"] and "/v1/transcribe" in body["message"]
    )
    assert "Prefer: respond-async" in body["message"]
    details = body["details"]
    assert details["max_sync_s"] == SYNC_LIMIT_S and details["use"] == "/v1/transcribe"
    assert details["limit"] == "limits.max_sync_speech_audio_s"
    assert details["duration_s"] == pytest.approx(5.24, abs=0.01)

    r = await post("/v1/audio/translations", SPEECH.read_bytes())
    assert r.status_code == 413 and r.json()["error"] == "audio_too_long_for_sync"
    assert "use" not in r.json()["details"]  # /v1/transcribe does not translate

    short, rate = sf.read(SPEECH, dtype="float32")
    r = await post("/v1/audio/transcriptions", wav_bytes(short[: int(1.5 * rate)], int(rate)))
    assert r.status_code == 200, r.text  # within the limit: answered at once, as ever
    jobs = await client.get("/v1/jobs", headers=user)
    assert jobs.json()["jobs"] == []


async def test_prefer_respond_async_makes_a_job_at_any_length(
    client: httpx.AsyncClient, user: dict[str, str], reference: Client
) -> None:
    short, rate = sf.read(SPEECH, dtype="float32")
    audio = wav_bytes(short[: int(1.5 * rate)], int(rate))  # under the limit
    answer = await poster(client, user)(
        "/v1/audio/transcriptions",
        audio,
        extra={"Prefer": "wait=5, RESPOND-ASYNC"},
        response_format="text",
        stream="true",  # a job's result is whole: the text
    )
    assert answer.headers["preference-applied"] == "respond-async"
    job = await finished(client, answer, user)
    assert job["status"] == "ready", job
    result = await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)
    ref_client, ref_user = reference
    sync = await poster(ref_client, ref_user)(
        "/v1/audio/transcriptions", audio, response_format="text"
    )
    assert result.status_code == 200 and result.text == sync.text
    assert result.headers["content-type"].startswith("text/plain")


async def test_another_key_cannot_see_the_job_or_its_result(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    answer = await poster(client, user)("/v1/transcribe", SPEECH.read_bytes(), field="audio")
    job = await finished(client, answer, user)
    bob = await make_key(client, "bob")
    for suffix in ("", "/result", "/audio"):
        r = await client.get(f"/v1/jobs/{job['job_id']}{suffix}", headers=bob)
        assert r.status_code == 404, (suffix, r.text)
        assert r.json()["error"] == "not_found"
    assert (await client.delete(f"/v1/jobs/{job['job_id']}", headers=bob)).status_code == 404
    assert (await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)).status_code == 200


async def test_a_job_is_metered_once_when_it_finishes(
    client: httpx.AsyncClient, services: Services, user: dict[str, str]
) -> None:
    answer = await poster(client, user)("/v1/transcribe", SPEECH.read_bytes(), field="audio")
    job = await finished(client, answer, user)
    await services.runner(job["job_id"])  # delivered again: finished, so nothing runs
    for _ in range(2):
        assert (
            await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)
        ).status_code == 200
    r = await client.get("/v1/usage", headers=user)
    assert r.status_code == 200, r.text
    assert r.json()["by_backend"] == [
        {"backend": "whisper", "characters": 0, "audio_out_s": 0.0, "audio_in_s": 5.24}
        | {"requests": 1, "cache_hits": 0}
    ]


async def test_a_job_whose_audio_is_malformed_fails_with_a_clear_error(
    client: httpx.AsyncClient, services: Services, user: dict[str, str]
) -> None:
    samples = np.zeros(3 * 16000, dtype=np.float32)
    samples[16000:16010] = np.nan  # a sound header, samples no decoder accepts
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="FLOAT")
    for path, field in (("/v1/transcribe", "audio"), ("/v1/audio/denoise", "file")):
        answer = await poster(client, user)(path, buffer.getvalue(), field=field)
        job = await finished(client, answer, user)
        assert job["status"] == "failed", job
        assert "10 NaN or infinite samples" in str(job["error"]), job
        r = await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)
        assert r.status_code == 404 and r.json()["error"] == "job_not_ready"
        assert not await services.blobs.exists(f"jobs/{job['job_id']}/input")
    r = await client.get("/v1/usage", headers=user)
    assert r.json()["by_backend"] == []


async def test_a_cancelled_job_keeps_nothing(
    client: httpx.AsyncClient, services: Services, user: dict[str, str]
) -> None:
    answer = await poster(client, user)("/v1/transcribe", SPEECH.read_bytes(), field="audio")
    job_id = answer.json()["job_id"]
    r = await client.delete(f"/v1/jobs/{job_id}", headers=user)
    assert r.status_code == 200, r.text
    job = await wait_for_job(client, job_id, user, timeout_s=120)
    await asyncio.sleep(2.0)  # a worker that held it stops at its next step
    assert not await services.blobs.exists(f"jobs/{job_id}/input")
    if job["status"] == "cancelled":  # else it had finished first: its transcript stays
        assert not await services.blobs.exists(f"jobs/{job_id}/transcript")
    r = await client.get(f"/v1/jobs/{job_id}/result", headers=user)
    assert r.status_code == (200 if job["status"] == "ready" else 404)


def flac_of_unknown_length(seconds: float) -> bytes:
    """Speech as FLAC with 0 (unknown) total samples in STREAMINFO, as encoders writing to a
    pipe make it: its length is found only by decoding."""
    samples, rate = sf.read(SPEECH, dtype="float32")
    flac = bytearray(wav_bytes(samples[: int(seconds * rate)], int(rate), fmt="FLAC"))
    assert flac[:4] == b"fLaC" and int.from_bytes(flac[5:8], "big") == 34
    flac[21] &= 0xF0  # STREAMINFO's 36-bit total samples: the low 4 bits of byte 21, bytes 22-25
    flac[22:26] = bytes(4)
    return bytes(flac)


async def test_audio_of_unknown_length_is_measured_by_decoding(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    post = poster(client, user)
    r = await post("/v1/transcribe", flac_of_unknown_length(1.5), field="audio")
    assert r.status_code == 200, r.text
    answer = await post("/v1/transcribe", flac_of_unknown_length(5.0), field="audio")
    job = await finished(client, answer, user)
    assert job["status"] == "ready", job
    r = await post("/v1/audio/transcriptions", flac_of_unknown_length(5.0))
    assert r.status_code == 413 and r.json()["details"]["duration_s"] >= SYNC_LIMIT_S


async def test_audio_that_is_not_audio_is_refused_before_any_job(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    r = await poster(client, user)("/v1/transcribe", b"not audio at all" * 100, field="audio")
    assert r.status_code == 422 and r.json()["error"] == "invalid_audio"
    assert (await client.get("/v1/jobs", headers=user)).json()["jobs"] == []


# --- noise suppression --------------------------------------------------------------------------


async def test_a_long_denoise_is_a_job_whose_audio_is_the_synchronous_answer(
    client: httpx.AsyncClient, user: dict[str, str], reference: Client
) -> None:
    audio = noisy(3.0)
    answer = await poster(client, user)("/v1/audio/denoise", audio, format="flac")
    assert answer.json()["kind"] == "denoise"
    job = await finished(client, answer, user)
    assert job["status"] == "ready", job
    assert job["audio_duration_s"] == pytest.approx(3.0, abs=1e-3)
    result = await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)
    audio_answer = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)

    ref_client, ref_user = reference
    sync = await poster(ref_client, ref_user)("/v1/audio/denoise", audio, format="flac")
    assert sync.status_code == 200, sync.text
    assert result.status_code == 200 and result.headers["content-type"] == "audio/flac"
    assert result.content == audio_answer.content == sync.content

    r = await client.get("/v1/usage", headers=user)
    assert r.json()["by_backend"] == [
        {"backend": "deepfilternet", "characters": 0, "audio_out_s": 3.0, "audio_in_s": 3.0}
        | {"requests": 1, "cache_hits": 0}
    ]


async def test_a_short_denoise_is_a_job_when_the_client_prefers_one(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    audio = noisy(1.0)
    r = await poster(client, user)("/v1/audio/denoise", audio)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    answer = await poster(client, user)("/v1/audio/denoise", audio, extra=ASYNC)
    assert answer.headers["preference-applied"] == "respond-async"
    job = await finished(client, answer, user)
    result = await client.get(f"/v1/jobs/{job['job_id']}/result", headers=user)
    assert result.status_code == 200 and result.content == r.content
