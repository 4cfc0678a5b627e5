"""The client's core without a server: httpx's MockTransport answers, so retries, error
mapping and ``wait`` are checked exactly (the live server is in tests/e2e/test_client.py)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from voxclone.client import (
    AsyncClient,
    Client,
    JobFailed,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TransportError,
    WaitTimeout,
)

Handler = Callable[[httpx.Request], httpx.Response]
FAST = RetryPolicy(max_retries=3, backoff_s=0.01, max_wait_s=5)


def client(handler: Handler, retry: RetryPolicy = FAST) -> Client:
    transport = httpx.MockTransport(handler)
    return Client("http://vx.test", api_key="vx_k", retry=retry, transport=transport)


def error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": code, "message": message, "details": {"why": code}}
    return httpx.Response(status, json=body, headers=headers)


def job(status: str, progress: float = 0.0, error: str | None = None) -> dict[str, object]:
    return {
        "job_id": "j1",
        "kind": "synthesize",
        "status": status,
        "progress": progress,
        "voice_id": None,
        "backend": "piper",
        "error": error,
        "created_at": "2026-12-05T00:00:00Z",
        "started_at": None,
        "completed_at": None,
    }


def test_errors_carry_the_json_and_pick_their_class() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return error(402, "quota_exceeded", "over the quota")

    with client(handler) as vx, pytest.raises(QuotaExceeded) as got:
        vx.voices.get("v1")
    assert got.value.status_code == 402 and got.value.code == "quota_exceeded"
    assert got.value.message == "over the quota" and got.value.details == {"why": "quota_exceeded"}
    assert seen[0].headers["authorization"] == "Bearer vx_k"
    assert len(seen) == 1  # 402 is not retried


def test_non_json_and_elevenlabs_shaped_errors() -> None:
    answers = iter(
        [
            httpx.Response(500, text="upstream exploded"),
            httpx.Response(404, json={"detail": {"status": "voice_not_found", "message": "no"}}),
        ]
    )
    with client(lambda _: next(answers)) as vx:
        with pytest.raises(ServerError) as boom:
            vx.account.health()
        assert boom.value.code == "http_500" and "upstream exploded" in boom.value.message
        with pytest.raises(NotFound) as missing:
            vx.account.health()
        assert missing.value.code == "voice_not_found" and missing.value.message == "no"


def test_429_waits_for_retry_after_then_succeeds() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return error(429, "rate_limited", "slow down", **{"Retry-After": "1"})
        return httpx.Response(200, json=[])

    with client(handler) as vx:
        assert vx.voices.list() == []
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_503_without_retry_after_backs_off_and_gives_up() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        return error(503, "engine_unavailable", "busy")

    policy = RetryPolicy(max_retries=3, backoff_s=0.1)
    with client(handler, policy) as vx, pytest.raises(ServiceUnavailable):
        vx.voices.list()
    assert len(calls) == 4  # the try and three retries
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[2] >= 0.39 and gaps[1] >= 0.19 and gaps[0] >= 0.09  # doubling


def test_a_retry_after_longer_than_max_wait_raises_at_once() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return error(429, "rate_limited", "a minute", **{"Retry-After": "60"})

    with client(handler) as vx, pytest.raises(RateLimited) as limited:
        vx.history.list()
    assert len(calls) == 1 and limited.value.retry_after_s == 60
    with client(handler, RetryPolicy(max_retries=0)) as vx, pytest.raises(RateLimited):
        vx.history.list()


def test_wait_reports_progress_and_raises_on_failure() -> None:
    states = iter([job("pending"), job("running", 0.5), job("failed", 0.5, "engine died")])
    with client(lambda _: httpx.Response(200, json=next(states))) as vx:
        seen: list[float] = []
        with pytest.raises(JobFailed) as failed:
            vx.jobs.wait("j1", poll_s=0.01, on_progress=seen.append)
    assert seen == [0.0, 0.5, 0.5]
    assert failed.value.job.error == "engine died"


def test_wait_times_out() -> None:
    running = client(lambda _: httpx.Response(200, json=job("running", 0.1)))
    with running as vx, pytest.raises(WaitTimeout) as late:
        vx.jobs.wait("j1", timeout=0.1, poll_s=0.02)
    assert late.value.job.status == "running"


def test_transport_failures_are_client_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with client(refuse) as vx, pytest.raises(TransportError):
        vx.voices.list()
    with client(hang) as vx, pytest.raises(Timeout):
        vx.voices.list()


def test_find_by_name_falls_back_to_the_list() -> None:
    voice = {"voice_id": "5f0c3c5e-0000-4000-8000-000000000001", "name": "narrator"}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/voices"
        wanted = request.url.params["search"]
        return httpx.Response(200, json=[voice] if wanted in str(voice["name"]) else [])

    with client(handler) as vx:
        assert vx.voices.find("narrator").voice_id == voice["voice_id"]
        with pytest.raises(NotFound):
            vx.voices.find("nobody")


async def test_async_client_shares_the_operations() -> None:
    answers = iter(
        [
            error(429, "rate_limited", "wait", **{"Retry-After": "0"}),
            httpx.Response(202, json={"job_id": "j1", "status": "pending"}),
            httpx.Response(200, json=job("ready", 1.0)),
            httpx.Response(200, content=b"RIFFdata", headers={"content-type": "audio/wav"}),
        ]
    )
    sent: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path))
        return next(answers)

    transport = httpx.MockTransport(handler)
    async with AsyncClient("http://vx.test", retry=FAST, transport=transport) as vx:
        audio = await vx.synthesis.synthesize("v1", "Hello.", format="wav")
    assert audio.data == b"RIFFdata" and audio.content_type == "audio/wav"
    assert sent == [
        ("POST", "/v1/synthesize"),
        ("POST", "/v1/synthesize"),
        ("GET", "/v1/jobs/j1"),
        ("GET", "/v1/jobs/j1/audio"),
    ]


def test_uploads_are_multipart_and_sent_again_on_retry(tmp_path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF1234")
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if len(bodies) == 1:
            return error(503, "busy", "busy", **{"Retry-After": "0"})
        return httpx.Response(201, json={"voice_id": "v", "name": "n", "backend": "piper"})

    with client(handler) as vx:
        assert vx.voices.create("n", clip, tags=["a"]).voice_id == "v"
    assert len(bodies) == 2
    boundary = [body.split(b"\r\n", 1)[0] for body in bodies]
    assert bodies[0].replace(boundary[0], b"") == bodies[1].replace(boundary[1], b"")
    assert b'filename="clip.wav"' in bodies[1] and b"RIFF1234" in bodies[1]
    assert json.dumps(["a"]).encode() in bodies[1]


def test_the_client_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, voxclone.client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'sqlalchemy', "
        "'starlette', 'numpy') or m.startswith(('voxclone.api', 'voxclone.services', "
        "'voxclone.engines', 'voxclone.db', 'voxclone.core', 'voxclone.config'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
