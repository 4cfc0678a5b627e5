"""Keys, voices and cached audio served from memory, forgotten when they change: at once in
the process that changed them, within ``auth_cache_s`` in the other processes of
``voxclone serve --workers 2``, and within a Redis round trip on other API hosts (distributed
mode). Real servers on loopback, Piper, SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests import peers
from tests.conftest import ADMIN_KEY, tone_wav

TEXT = "The early train was quiet except for the rain against the windows."
BOUND_S = 1.5
"""auth_cache_s of the servers these tests start."""


def start(
    root: Path, name: str, *, workers: int = 1, auth_cache_s: float = BOUND_S, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = peers.free_port()
    data_dir = root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
        "VOXCLONE_ENV": "test",
        "VOXCLONE_ADMIN_KEY": ADMIN_KEY,
        "VOXCLONE_DATA_DIR": str(data_dir),
        "VOXCLONE_DEFAULT_BACKEND": "piper",
        "VOXCLONE_AUTO_TRANSCRIBE_REFERENCES": "false",
        "VOXCLONE_AUTH_CACHE_S": str(auth_cache_s),
        **env,
    }
    command = [sys.executable, "-m", "voxclone", "serve", "--host", "127.0.0.1"]
    with (root / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, (root / f"{name}.log").read_text()
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not start:\n{(root / f'{name}.log').read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def key_and_voice(url: str) -> tuple[str, dict[str, str], str]:
    """A key (its id and headers) and a Piper voice of it, with one sentence cached."""
    r = httpx.post(f"{url}/v1/keys", json={"label": "hot"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    key_id, user = r.json()["key_id"], {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = httpx.post(
        f"{url}/v1/voices",
        data={"name": "hot", "backend": "piper", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    voice = r.json()["voice_id"]
    miss = httpx.post(
        f"{url}/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=user, timeout=60
    )
    assert miss.status_code == 200 and miss.headers["X-Cache"] == "MISS", miss.text
    return key_id, user, voice


def statuses(url: str, voice: str, user: dict[str, str], count: int = 40) -> list[int]:
    """``count`` cache-hit requests at once, each on a new connection (so that every worker
    process of the server takes some)."""

    def one(_: int) -> int:
        r = httpx.post(
            f"{url}/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=user, timeout=30
        )
        assert r.status_code != 200 or r.headers["X-Cache"] == "HIT", r.headers
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def settle(url: str, voice: str, user: dict[str, str], expected: int, bound_s: float) -> float:
    """Seconds until every request gets ``expected``; fails past ``bound_s`` (+ slack)."""
    started = time.monotonic()
    while True:
        seen = statuses(url, voice, user)
        if set(seen) == {expected}:
            return time.monotonic() - started
        assert time.monotonic() - started < bound_s + 1.0, seen
        time.sleep(0.1)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    process, url = start(tmp_path, "w2", workers=2)
    try:
        yield url
    finally:
        stop(process)


def test_two_workers_forget_a_deleted_voice_and_a_revoked_key(two_workers: str) -> None:
    url = two_workers
    key_id, user, voice = key_and_voice(url)
    assert set(statuses(url, voice, user)) == {200}  # the voice, key and audio warm in both
    gone = httpx.delete(f"{url}/v1/voices/{voice}", headers=user)
    assert gone.status_code in (200, 204), gone.text
    settle(url, voice, user, 404, BOUND_S)
    # A second voice of the same key, warm in both workers, then the key is revoked.
    _, _, other = key_and_voice_for(url, user)
    assert set(statuses(url, other, user)) == {200}
    revoked = httpx.delete(f"{url}/v1/keys/{key_id}", headers={"X-API-Key": ADMIN_KEY})
    assert revoked.status_code in (200, 204), revoked.text
    settle(url, other, user, 401, BOUND_S)


def key_and_voice_for(url: str, user: dict[str, str]) -> tuple[None, None, str]:
    r = httpx.post(
        f"{url}/v1/voices",
        data={"name": "hot2", "backend": "piper", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    voice = str(r.json()["voice_id"])
    httpx.post(f"{url}/v1/text-to-speech/{voice}", json={"text": TEXT}, headers=user, timeout=60)
    return None, None, voice


def test_one_process_forgets_at_once(tmp_path: Path) -> None:
    """The process that revokes the key or deletes the voice answers the next request so,
    though its caches would trust both for a minute."""
    process, url = start(tmp_path, "one", auth_cache_s=60)
    try:
        key_id, user, voice = key_and_voice(url)
        assert set(statuses(url, voice, user, 5)) == {200}
        httpx.delete(f"{url}/v1/voices/{voice}", headers=user).raise_for_status()
        assert statuses(url, voice, user, 5) == [404] * 5
        _, _, other = key_and_voice_for(url, user)
        assert set(statuses(url, other, user, 5)) == {200}
        httpx.delete(f"{url}/v1/keys/{key_id}", headers={"X-API-Key": ADMIN_KEY}).raise_for_status()
        assert statuses(url, other, user, 5) == [401] * 5
    finally:
        stop(process)


def test_hosts_forget_over_redis(tmp_path: Path) -> None:
    """Distributed mode: two hosts on one database; a revocation on one reaches the other over
    Redis pub/sub, well before its minute of ``auth_cache_s`` is over."""
    shared = {
        "VOXCLONE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        "VOXCLONE_STORAGE_URL": (tmp_path / "blobs").resolve().as_uri(),
        "VOXCLONE_REDIS_URL": peers.require_redis(),
    }
    a, url_a = start(tmp_path, "a", auth_cache_s=60, **shared)
    try:
        b, url_b = start(tmp_path, "b", auth_cache_s=60, **shared)
        try:
            key_id, user, voice = key_and_voice(url_a)
            assert set(statuses(url_b, voice, user, 5)) == {200}  # b trusts all for a minute
            httpx.delete(f"{url_a}/v1/voices/{voice}", headers=user).raise_for_status()
            assert settle(url_b, voice, user, 404, 1.0) < 2.0
            _, _, other = key_and_voice_for(url_a, user)
            assert set(statuses(url_b, other, user, 5)) == {200}
            revoke = httpx.delete(f"{url_a}/v1/keys/{key_id}", headers={"X-API-Key": ADMIN_KEY})
            revoke.raise_for_status()
            assert settle(url_b, other, user, 401, 1.0) < 2.0
        finally:
            stop(b)
    finally:
        stop(a)


def test_two_workers_run_a_job_once_and_any_of_them_reports_it(two_workers: str) -> None:
    """A miss on POST /v1/synthesize is a job of the process that took it; polls reach either
    process, and the job ends ready (the processes share jobs by lease, as hosts do)."""
    url = two_workers
    _, user, voice = key_and_voice(url)
    r = httpx.post(
        f"{url}/v1/synthesize",
        json={"voice_id": voice, "text": "A small boat drifted slowly toward the far side."},
        headers=user,
        timeout=30,
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 60
    while True:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", headers=user, timeout=10).json()
        if job["status"] in ("ready", "failed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "ready", job
    assert job["attempt"] == 1  # one claim: no process took it from another
    audio = httpx.get(f"{url}/v1/jobs/{job_id}/audio", headers=user, timeout=30)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF", audio.text[:200]
