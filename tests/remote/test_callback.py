"""Callback engines end to end: a gateway on a real loopback port, a worker that calls it back.

The worker is either the project's own ``voxclone provider serve --callback`` (a real process
that renders with the fake engine and POSTs the audio back), or a stand-in that only records
the triggers, so that a test can play the worker: present wrong secrets, replay a completion,
send garbage audio, or never call back at all.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf
from fastapi import FastAPI, Request

from tests.conftest import ADMIN_KEY, make_settings, tone_wav
from tests.remote.conftest import FAKE_ENGINE, engine_entry
from tests.remote.servers import ProviderProcess, ThreadServer
from voxclone.api.app import create_app
from voxclone.services.container import build_services

TERMINAL = ("ready", "failed", "cancelled")


class LateApp:
    """An ASGI app set after its server's port is known (the gateway's settings name it)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class StandIn:
    """A callback worker that accepts every trigger and never calls back by itself."""

    def __init__(self) -> None:
        self.triggers: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.app = FastAPI()

        @self.app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "healthy"}

        @self.app.post("/v1/trigger", status_code=202)
        async def trigger(request: Request) -> dict[str, str]:
            body = await request.json()
            with self._lock:
                self.triggers.append(body)
            return {"status": "accepted"}

    def trigger_for(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self._lock:
                for body in self.triggers:
                    if body["job_id"] == job_id:
                        return body
            time.sleep(0.02)
        raise AssertionError(f"no trigger for job {job_id}")


@dataclass
class Gateway:
    client: httpx.AsyncClient
    url: str
    user: dict[str, str]

    async def voice(self, backend: str) -> str:
        r = await self.client.post(
            "/v1/voices",
            data={"name": "v", "backend": backend, "ref_text": "hello there"},
            files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
            headers=self.user,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["voice_id"])

    async def queue(self, voice_id: str, text: str) -> str:
        r = await self.client.post(
            "/v1/synthesize", json={"voice_id": voice_id, "text": text}, headers=self.user
        )
        assert r.status_code == 202, r.text
        return str(r.json()["job_id"])

    async def job(self, job_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/jobs/{job_id}", headers=self.user)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def wait(self, job_id: str, *, timeout_s: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = await self.job(job_id)
            if job["status"] in TERMINAL:
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} did not end: {job}")

    async def complete(self, job: str, secret: str | None, **body: Any) -> httpx.Response:
        """POST a completion of ``job`` (its id in the body too, unless ``body`` names one)."""
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return await self.client.post(
            f"/v1/jobs/{job}/complete", json={"job_id": job, **body}, headers=headers
        )


@pytest.fixture
def standin() -> Iterator[tuple[StandIn, str]]:
    worker = StandIn()
    with ThreadServer(worker.app) as url:
        yield worker, url


@pytest.fixture(scope="module")
def callback_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderProcess]:
    """``voxclone provider serve --engine fake --callback``, a real process."""
    cwd = tmp_path_factory.mktemp("callback-provider")
    engines = cwd / "engines.toml"
    engines.write_text(FAKE_ENGINE, encoding="utf-8")
    process = ProviderProcess("fake", engines, cwd=cwd, args=("--callback",)).start()
    try:
        process.wait_ready(timeout_s=60)
        yield process
    finally:
        process.stop()


@pytest.fixture
async def public_gateway(tmp_path: Path, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """``await public_gateway(engines_toml, timeout_s=...)``: the app on a real loopback port, with
    ``callbacks.public_url`` naming that port, driven over HTTP."""
    stack = AsyncExitStack()
    servers: list[ThreadServer] = []

    async def make(engines: str, *, timeout_s: float = 30.0) -> Gateway:
        late = LateApp()
        server = ThreadServer(late)
        servers.append(server)
        path = tmp_path / "engines.toml"
        path.write_text(FAKE_ENGINE + engines, encoding="utf-8")
        settings = make_settings(
            tmp_path / "data",
            database_url=database_url,
            engines_file=path,
            callbacks={"public_url": server.url, "timeout_s": timeout_s, "check_s": 0.1},
        )
        late.app = create_app(services=build_services(settings))
        server.start()
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=30))
        r = await client.post(
            "/v1/keys", json={"label": "t"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        assert r.status_code == 201, r.text
        user = {"Authorization": f"Bearer {r.json()['api_key']}"}
        return Gateway(client=client, url=server.url, user=user)

    yield make
    await stack.aclose()
    for server in servers:
        server.stop()


def callback_engine(name: str, url: str) -> str:
    return engine_entry(
        name, "callback", urls=[url], options={"languages": ["en"], "sample_rate": 16000}
    )


def wav_b64(seconds: float = 0.5) -> str:
    return base64.b64encode(tone_wav(seconds)).decode("ascii")


# --- the project's own provider server as the worker ------------------------------------------


async def test_a_job_goes_ready_with_the_audio_the_provider_called_back_with(
    public_gateway: Callable[..., Any], callback_provider: ProviderProcess
) -> None:
    gw: Gateway = await public_gateway(callback_engine("serverless", callback_provider.url))
    voice_id = await gw.voice("serverless")
    job_id = await gw.queue(voice_id, "Hello from a serverless worker.")

    job = await gw.wait(job_id)

    assert job["status"] == "ready", job
    r = await gw.client.get(f"/v1/jobs/{job_id}/audio", headers=gw.user)
    assert r.status_code == 200
    samples, rate = sf.read(io.BytesIO(r.content))
    assert rate == 16000 and len(samples) > 0
    assert job["audio_duration_s"] == pytest.approx(len(samples) / rate, abs=0.01)
    # The completion filled the synthesis cache: the same request is now answered at once.
    again = await gw.client.post(
        "/v1/synthesize",
        json={"voice_id": voice_id, "text": "Hello from a serverless worker."},
        headers=gw.user,
    )
    assert again.status_code == 200 and again.headers["X-Cache"] == "HIT"
    assert again.content == r.content


async def test_a_worker_error_fails_the_job(
    public_gateway: Callable[..., Any], callback_provider: ProviderProcess
) -> None:
    gw: Gateway = await public_gateway(callback_engine("serverless", callback_provider.url))
    voice_id = await gw.voice("serverless")
    job_id = await gw.queue(voice_id, "This sentence will FAIL on the worker.")

    job = await gw.wait(job_id)

    assert job["status"] == "failed"
    assert "'serverless' failed" in job["error"]


# --- a stand-in worker: the test plays the worker ----------------------------------------------


async def test_the_trigger_carries_the_job_its_reference_and_a_per_job_secret(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    first, second = await gw.queue(voice_id, "One."), await gw.queue(voice_id, "Two.")

    trigger = worker.trigger_for(first)

    assert trigger["callback_url"] == f"{gw.url}/v1/jobs/{first}/complete"
    assert trigger["text"] == "One." and trigger["language"] == "en"
    assert trigger["voice_id"] == voice_id and trigger["backend_name"] == "standin"
    assert sf.info(io.BytesIO(base64.b64decode(trigger["ref_audio_b64"]))).duration > 3
    assert trigger["ref_text"] == "hello there"
    assert trigger["callback_secret"] != worker.trigger_for(second)["callback_secret"]
    assert (await gw.job(first))["status"] == "running"


async def test_a_completion_needs_the_jobs_own_secret_and_is_taken_once(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    job_id, other = await gw.queue(voice_id, "Mine."), await gw.queue(voice_id, "Other.")
    secret = worker.trigger_for(job_id)["callback_secret"]
    other_secret = worker.trigger_for(other)["callback_secret"]
    audio = wav_b64()

    for wrong in (None, "not-the-secret", other_secret):
        r = await gw.complete(job_id, wrong, wav_b64=audio)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized"
    assert (await gw.job(job_id))["status"] == "running"
    r = await gw.complete(job_id, secret, wav_b64=audio, job_id=other)
    assert r.status_code == 400 and "not the job of the URL" in r.json()["message"]

    r = await gw.complete(job_id, secret, wav_b64=audio, cache_key="ignored")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    first = await gw.job(job_id)
    assert first["status"] == "ready" and first["audio_duration_s"] == pytest.approx(0.5)

    replay = await gw.complete(job_id, secret, error="too late")
    assert replay.status_code == 200 and replay.json() == {"status": "ignored"}
    assert await gw.job(job_id) == first
    assert (await gw.job(other))["status"] == "running"
    usage = await gw.client.get("/v1/usage", headers=gw.user)
    assert usage.json()["totals"]["characters"] == len("Mine.")  # metered once


async def test_afterwords_field_names_and_other_formats_are_accepted(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    r = await gw.client.post(
        "/v1/synthesize",
        json={"voice_id": voice_id, "text": "In MP3.", "format": "mp3"},
        headers=gw.user,
    )
    job_id = r.json()["job_id"]
    secret = worker.trigger_for(job_id)["callback_secret"]
    flac = base64.b64encode(tone_wav(0.5, fmt="FLAC")).decode("ascii")

    r = await gw.complete(job_id, secret, audio_b64=flac)

    assert r.json() == {"status": "ready"}
    audio = await gw.client.get(f"/v1/jobs/{job_id}/audio", headers=gw.user)
    assert audio.headers["content-type"] == "audio/mpeg"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"wav_b64": base64.b64encode(b"not audio at all" * 10).decode()}, "unusable audio"),
        ({"wav_b64": "%%% not base64 %%%"}, "not base64"),
        ({}, "neither audio nor an error"),
    ],
)
async def test_unusable_audio_fails_the_job_and_is_refused(
    public_gateway: Callable[..., Any],
    standin: tuple[StandIn, str],
    body: dict[str, Any],
    problem: str,
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    job_id = await gw.queue(voice_id, "Garbage in.")
    secret = worker.trigger_for(job_id)["callback_secret"]

    r = await gw.complete(job_id, secret, **body)

    assert r.status_code == 422 and r.json()["error"] == "invalid_audio"
    job = await gw.job(job_id)
    assert job["status"] == "failed" and problem in job["error"]
    no_audio = await gw.client.get(f"/v1/jobs/{job_id}/audio", headers=gw.user)
    assert no_audio.json()["error"] == "job_not_ready"
    # Nothing was cached: the same text queues a new job.
    assert (await gw.queue(voice_id, "Garbage in.")) != job_id


async def test_a_job_whose_callback_never_comes_fails_after_the_timeout(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url), timeout_s=0.5)
    voice_id = await gw.voice("standin")
    job_id = await gw.queue(voice_id, "Is anyone there?")
    secret = worker.trigger_for(job_id)["callback_secret"]

    job = await gw.wait(job_id, timeout_s=10)

    assert job["status"] == "failed"
    assert job["error"] == "backend 'standin' did not call back within 0.5 s"
    late = await gw.complete(job_id, secret, wav_b64=wav_b64())
    assert late.json() == {"status": "ignored"}


async def test_a_cancelled_job_ignores_its_completion(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    job_id = await gw.queue(voice_id, "Never mind.")
    secret = worker.trigger_for(job_id)["callback_secret"]
    await gw.client.delete(f"/v1/jobs/{job_id}", headers=gw.user)

    r = await gw.complete(job_id, secret, wav_b64=wav_b64())

    assert r.json() == {"status": "ignored"}
    assert (await gw.job(job_id))["status"] == "cancelled"


async def test_a_worker_that_refuses_the_trigger_fails_the_job(
    public_gateway: Callable[..., Any], serve: Callable[[Any], str]
) -> None:
    refusing = FastAPI()

    @refusing.post("/v1/trigger", status_code=400)
    async def trigger() -> dict[str, str]:
        return {"message": "no such model"}

    gw: Gateway = await public_gateway(callback_engine("standin", serve(refusing)))
    voice_id = await gw.voice("standin")
    job_id = await gw.queue(voice_id, "Refused.")

    job = await gw.wait(job_id)

    assert job["status"] == "failed" and "no such model" in job["error"]


async def test_requests_that_wait_for_audio_are_refused_with_a_pointer_to_jobs(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")

    waiting = [
        (f"/v1/text-to-speech/{voice_id}", {"text": "Now, please."}),
        (f"/v1/text-to-speech/{voice_id}/stream", {"text": "Now, please."}),
        ("/v1/audio/speech", {"model": "standin", "voice": voice_id, "input": "Now, please."}),
        (
            "/v1/audio/speech",
            {"model": "standin", "voice": voice_id, "input": "Now.", "stream": True},
        ),
    ]
    for path, body in waiting:
        r = await gw.client.post(path, json=body, headers=gw.user)

        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "jobs_only_backend"
        assert "POST /v1/synthesize" in r.json()["message"]
    assert worker.triggers == []


async def test_of_two_racing_completions_one_finishes_the_job(
    public_gateway: Callable[..., Any], standin: tuple[StandIn, str]
) -> None:
    worker, url = standin
    gw: Gateway = await public_gateway(callback_engine("standin", url))
    voice_id = await gw.voice("standin")
    job_id = await gw.queue(voice_id, "Twice.")
    secret = worker.trigger_for(job_id)["callback_secret"]

    replies = await asyncio.gather(
        *(gw.complete(job_id, secret, wav_b64=wav_b64(0.3 + i / 10)) for i in range(4))
    )

    outcomes = sorted(r.json()["status"] for r in replies)
    assert outcomes == ["ignored", "ignored", "ignored", "ready"]
    job = await gw.job(job_id)
    durations = [0.3 + i / 10 for i in range(4)]
    winner = durations[[r.json()["status"] for r in replies].index("ready")]
    assert job["audio_duration_s"] == pytest.approx(winner)
    audio = await gw.client.get(f"/v1/jobs/{job_id}/audio", headers=gw.user)
    assert sf.info(io.BytesIO(audio.content)).duration == pytest.approx(winner, abs=0.01)
