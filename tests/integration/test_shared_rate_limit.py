"""Two API hosts, one rate budget per key: ``voxclone serve`` twice on loopback, both on one
database and the real Redis, where the moving windows of the ``limits`` library live.

A key allowed N requests a minute gets N in all, however they are spread over the hosts; the
(N+1)th is refused with 429 by whichever host it reaches. With the windows in each process's
memory instead, each host would allow N.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import peers
from tests.conftest import ADMIN_KEY

LIMIT = 5


def start_host(
    root: Path, name: str, database_url: str, storage: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = peers.free_port()
    data_dir = root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
        "VOXCLONE_ENV": "test",
        "VOXCLONE_ADMIN_KEY": ADMIN_KEY,
        "VOXCLONE_DATA_DIR": str(data_dir),
        "VOXCLONE_DATABASE_URL": database_url,
        "VOXCLONE_STORAGE_URL": (root / "blobs").resolve().as_uri(),
        "VOXCLONE_REDIS_URL": peers.require_redis(),
        "VOXCLONE_QUOTAS__RATE_LIMIT_STORAGE": storage,
        "VOXCLONE_AUTH_CACHE_S": "0",
    }
    with (root / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout} s")


@pytest.fixture
def hosts(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    storage = request.param
    started = [start_host(tmp_path, name, database_url, storage) for name in ("a", "b")]
    try:
        for process, url in started:
            wait_ready(process, url)
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def spread_requests(urls: list[str], count: int) -> list[int]:
    """A new key with the limit, then ``count`` requests alternating between the hosts."""
    admin = {"X-API-Key": ADMIN_KEY}
    r = httpx.post(f"{urls[0]}/v1/keys", json={"rate_limit_per_minute": LIMIT}, headers=admin)
    assert r.status_code == 201, r.text
    user = {"Authorization": f"Bearer {r.json()['api_key']}"}
    return [
        httpx.get(f"{urls[i % len(urls)]}/v1/voices", headers=user, timeout=10).status_code
        for i in range(count)
    ]


@pytest.mark.parametrize("hosts", ["redis"], indirect=True)
def test_two_hosts_share_one_budget_on_redis(hosts: list[str]) -> None:
    statuses = spread_requests(hosts, LIMIT + 2)
    assert statuses == [200] * LIMIT + [429, 429]


@pytest.mark.parametrize("hosts", ["memory"], indirect=True)
def test_in_memory_each_host_counts_its_own(hosts: list[str]) -> None:
    statuses = spread_requests(hosts, 2 * LIMIT + 2)
    assert statuses == [200] * (2 * LIMIT) + [429, 429]
