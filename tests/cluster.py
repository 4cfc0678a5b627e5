"""A distributed voxclone on loopback: API and worker processes against the real peers.

Used by the integration test and by ``benchmarks/distributed.py``. Every process is the real
command line (``voxclone serve``, ``voxclone worker``), configured by environment variables
only, as an operator would run it. Each runs in its own process group, so a SIGKILL takes a
worker's pool processes with it, as when a host dies. ``close`` stops whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests import peers
from voxclone.db.migrate import upgrade_database

ADMIN_KEY = "vxadmin_cluster-test-key"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def holds(self, pid: int) -> bool:
        """Whether ``pid`` (a pool process) belongs to this process's group."""
        try:
            return os.getpgid(pid) == self.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool processes, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


@dataclass
class Cluster:
    """Configuration for processes sharing one PostgreSQL database, Redis queue and bucket."""

    root: Path
    database_url: str
    redis_url: str
    s3: peers.S3Server
    bucket: str
    engines: str | None = None
    """An ``[[engines]]`` table body for the engines file, or None for the built-in engines."""
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    queue_name: str = field(default_factory=lambda: f"voxclone-test-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        engines: dict[str, str] = {}
        if self.engines is not None:
            engines_file = self.root / "engines.toml"
            engines_file.write_text(f"[[engines]]\n{self.engines}")
            engines = {
                "VOXCLONE_ENGINES_FILE": str(engines_file),
                "VOXCLONE_DEFAULT_BACKEND": "fake",
            }
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
            "VOXCLONE_ENV": "test",
            "VOXCLONE_ADMIN_KEY": ADMIN_KEY,
            "VOXCLONE_DATABASE_URL": self.database_url,
            "VOXCLONE_STORAGE_URL": f"s3://{self.bucket}/voxclone",
            "VOXCLONE_QUEUE": "celery",
            "VOXCLONE_REDIS_URL": self.redis_url,
            "VOXCLONE_WORKER__QUEUE_NAME": self.queue_name,
            "VOXCLONE_LOG_LEVEL": "info",
            "PYTHONUNBUFFERED": "1",
            **self.s3.settings(),
            **engines,
            **self.settings,
        }

    @classmethod
    def create(cls, root: Path, *, s3: peers.S3Server, **options: Any) -> Cluster:
        """A cluster on a new PostgreSQL database (migrated) and a new bucket."""
        database_url = peers.create_database("voxclone_cluster")
        asyncio.run(upgrade_database(database_url))
        return cls(
            root=root,
            database_url=database_url,
            redis_url=peers.require_redis(),
            s3=s3,
            bucket=s3.new_bucket(),
            **options,
        )

    def _spawn(
        self, name: str, args: list[str], url: str | None, overrides: dict[str, str]
    ) -> Process:
        log = self.root / f"{name}.log"
        data_dir = self.root / name
        data_dir.mkdir(exist_ok=True)
        env = {**self.env, "VOXCLONE_DATA_DIR": str(data_dir), **overrides}
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "voxclone", *args],
                env=env,
                cwd=data_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log, url)
        self.processes.append(process)
        return process

    def start_api(self, name: str, **overrides: str) -> Process:
        """``voxclone serve`` on a free port; ``overrides`` replace settings for this one."""
        port = peers.free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        return self._spawn(name, args, f"http://127.0.0.1:{port}", overrides)

    def start_worker(self, name: str, *, concurrency: int = 1, **overrides: str) -> Process:
        return self._spawn(name, ["worker", "--concurrency", str(concurrency)], None, overrides)

    def wait_ready(self, processes: list[Process], timeout: float = 60.0) -> None:
        """Until every API answers /health and every worker's pool processes are ready
        (workers say so in their log, at VOXCLONE_LOG_LEVEL=info)."""
        deadline = time.monotonic() + timeout
        for process in processes:
            while not self._ready(process):
                if not process.alive():
                    raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{process.name} not ready:\n{process.output()[-3000:]}")
                time.sleep(0.1)

    @staticmethod
    def _ready(process: Process) -> bool:
        if process.url is None:
            return "ready" in process.output() and "worker process" in process.output()
        try:
            return httpx.get(f"{process.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        for process in self.processes:  # all at once: each finishes what it runs
            if process.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        peers.forget_queue(self.queue_name)
        peers.drop_database(self.database_url)
