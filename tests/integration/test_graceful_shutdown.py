"""SIGTERM to a real `voxclone serve` process (the embedded mode, SQLite): requests in flight
finish, a running job is handed back (pending again, its progress kept), the process exits
within its grace period, and the next start resumes the job, whose progress as a client polls
it never goes down and whose ``attempt`` says it was restarted."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import tone_wav
from tests.remote.servers import free_port

ADMIN = "vxadmin_graceful-shutdown-test"
SENTENCE_S = 0.5
"""The fake engine sleeps this long per sentence."""


class Server:
    def __init__(self, root: Path) -> None:
        engines = root / "engines.toml"
        engines.write_text(
            '[[engines]]\nname = "fake"\ntype = "python"\n'
            'target = "voxclone.engines.fake:FakeEngine"\n'
            f"options = {{ delay_s = {SENTENCE_S} }}\n"
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
            "VOXCLONE_ENV": "test",
            "VOXCLONE_DATA_DIR": str(root / "data"),
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_ENGINES_FILE": str(engines),
            "VOXCLONE_DEFAULT_BACKEND": "fake",
            "VOXCLONE_AUTO_TRANSCRIBE_REFERENCES": "false",
            "VOXCLONE_SHUTDOWN_GRACE_S": "15",
            "VOXCLONE_JOBS__HEARTBEAT_S": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "voxclone", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process exited. uvicorn re-raises the signal once it
        has shut down cleanly, so the exit is by SIGTERM, as a supervisor expects."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        assert code in (0, -signal.SIGTERM), self.log.read_text()
        assert "Application shutdown complete" in self.log.read_text()
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    s.start()
    yield s
    s.kill()


def user_key_and_voice(url: str) -> tuple[dict[str, str], str]:
    r = httpx.post(f"{url}/v1/keys", json={"label": "graceful"}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = httpx.post(
        f"{url}/v1/voices",
        data={"name": "v", "backend": "fake"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return headers, str(r.json()["voice_id"])


def sentences(n: int) -> str:
    return " ".join(f"This is sentence number {i}." for i in range(n))


def test_a_request_in_flight_finishes_after_sigterm(server: Server) -> None:
    headers, voice = user_key_and_voice(server.url)
    answer: dict[str, httpx.Response] = {}

    def speak() -> None:
        answer["r"] = httpx.post(
            f"{server.url}/v1/text-to-speech/{voice}",
            json={"text": sentences(4)},  # about 2 s of work
            headers=headers,
            timeout=30,
        )

    thread = threading.Thread(target=speak)
    thread.start()
    time.sleep(0.8)  # the request is being served
    took = server.terminate()
    thread.join(timeout=30)
    assert answer["r"].status_code == 200, answer["r"].text
    assert answer["r"].content[:4] == b"RIFF"
    assert took < 15
    with pytest.raises(httpx.TransportError):  # and nothing new is accepted
        httpx.get(f"{server.url}/health", timeout=2)


def test_a_running_job_is_handed_back_and_resumed_without_going_backwards(
    server: Server,
) -> None:
    headers, voice = user_key_and_voice(server.url)
    r = httpx.post(
        f"{server.url}/v1/synthesize",
        json={"voice_id": voice, "text": sentences(12)},  # about 6 s of work
        headers=headers,
    )
    assert r.status_code == 202, r.text
    job_url = f"{server.url}/v1/jobs/{r.json()['job_id']}"
    seen: list[float] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = httpx.get(job_url, headers=headers).json()
        seen.append(job["progress"])
        if job["progress"] >= 0.25:
            break
        time.sleep(0.1)
    assert seen[-1] >= 0.25, seen
    assert job["attempt"] == 1

    took = server.terminate()
    assert took < 10, took  # the job does not hold the shutdown up: it is handed back

    server.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(job_url, headers=headers).json()
        seen.append(job["progress"])
        if job["status"] in ("ready", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "ready", job
    assert job["attempt"] == 2
    assert all(b >= a for a, b in itertools.pairwise(seen)), seen
    audio = httpx.get(f"{job_url}/audio", headers=headers)
    assert audio.status_code == 200
    log = server.log.read_text()
    assert "handed back on shutdown" in log
    assert "re-queued 1 unfinished job(s)" in log
