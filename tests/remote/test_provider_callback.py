"""The provider server's ``--callback`` mode against a stand-in gateway that records completions."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import soundfile as sf
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.conftest import tone_wav
from voxclone.api.provider import create_provider_app
from voxclone.config import LimitSettings
from voxclone.engines.fake import FakeEngine
from voxclone.engines.fake_stt import FakeTranscriber


class Completions:
    """A gateway's ``/v1/jobs/{id}/complete`` that fails the first ``failures`` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.attempts = 0
        self._lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/v1/jobs/{job_id}/complete")
        async def complete(job_id: str, request: Request) -> JSONResponse:
            with self._lock:
                self.attempts += 1
                if self.attempts <= failures:
                    return JSONResponse({"message": "busy"}, status_code=503)
                self.received.append((request.headers["authorization"], await request.json()))
            return JSONResponse({"status": "ready"})

    def wait(self, count: int = 1) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError("no completion arrived")


def trigger(gateway: str, **fields: Any) -> dict[str, Any]:
    ref = base64.b64encode(tone_wav(4.0, hz=300.0)).decode("ascii")
    return {
        "job_id": "job-1",
        "voice_id": "voice-1",
        "text": "Hello there.",
        "language": "en",
        "params": {"speed": 1.0, "seed": 1},
        "voice_prompt": {"ref_audio_b64": ref, "ref_text": "hello"},
        "cache_key": "c" * 64,
        "callback_url": f"{gateway}/v1/jobs/job-1/complete",
        "callback_secret": "per-job-secret",
        **fields,
    }


@pytest.fixture
def worker(serve: Callable[[Any], str]) -> str:
    app = create_provider_app(
        tts=FakeEngine("fake"), limits=LimitSettings(), api_key="k", callback=True
    )
    return serve(app)


async def test_a_trigger_is_answered_at_once_and_the_audio_called_back(
    worker: str, serve: Callable[[Any], str]
) -> None:
    gateway = Completions(failures=1)  # the first delivery is retried
    url = serve(gateway.app)
    async with httpx.AsyncClient(base_url=worker, headers={"X-API-Key": "k"}) as client:
        r = await client.post("/v1/trigger", json=trigger(url))
        assert r.status_code == 202 and r.json()["status"] == "accepted"

    ((auth, body),) = gateway.wait()

    assert auth == "Bearer per-job-secret"
    assert body["job_id"] == "job-1" and body["voice_id"] == "voice-1" and body["error"] is None
    assert body["cache_key"] == "c" * 64
    samples, rate = sf.read(io.BytesIO(base64.b64decode(body["wav_b64"])))
    assert rate == 16000 and len(samples) > 0
    assert gateway.attempts == 2


async def test_an_engine_failure_is_called_back_as_an_error(
    worker: str, serve: Callable[[Any], str]
) -> None:
    gateway = Completions()
    url = serve(gateway.app)
    async with httpx.AsyncClient(base_url=worker, headers={"X-API-Key": "k"}) as client:
        r = await client.post("/v1/trigger", json=trigger(url, text="Please FAIL now."))
        assert r.status_code == 202

    ((_, body),) = gateway.wait()

    assert body["wav_b64"] is None and "FAIL" in body["error"]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"text": "  "}, 400, "missing_field"),
        ({"language": "xx"}, 422, "unsupported_language"),
        ({"callback_url": "file:///etc/passwd"}, 422, "validation_error"),
    ],
)
async def test_a_bad_trigger_is_refused_at_once(
    worker: str, fields: dict[str, Any], status: int, code: str
) -> None:
    async with httpx.AsyncClient(base_url=worker, headers={"X-API-Key": "k"}) as client:
        r = await client.post("/v1/trigger", json=trigger("http://127.0.0.1:9", **fields))
    assert r.status_code == status, r.text
    assert r.json()["error"] == code


async def test_triggers_need_the_api_key(worker: str) -> None:
    async with httpx.AsyncClient(base_url=worker) as client:
        r = await client.post("/v1/trigger", json=trigger("http://127.0.0.1:9"))
    assert r.status_code == 401


def test_callback_mode_needs_a_tts_engine() -> None:
    with pytest.raises(ValueError, match="text-to-speech"):
        create_provider_app(stt=FakeTranscriber("stt"), limits=LimitSettings(), callback=True)


async def test_without_callback_mode_there_is_no_trigger(serve: Callable[[Any], str]) -> None:
    url = serve(create_provider_app(tts=FakeEngine("fake"), limits=LimitSettings()))
    async with httpx.AsyncClient(base_url=url) as client:
        r = await client.post("/v1/trigger", json=trigger("http://127.0.0.1:9"))
    assert r.status_code == 404
