"""The distributed mode for real: two API hosts and two Celery workers on loopback, on the real
PostgreSQL and Redis and an S3 server (moto), each process started from the command line.

1. 50 synthesis requests spread over both API hosts: every job completes exactly once (one
   claim each), both workers take part, and every job's audio is in the bucket and downloads
   (streamed) through either host.
2. A worker is killed with SIGKILL (its whole process group) in the middle of a job: the job's
   lease runs out, the sweep re-enqueues it, the other worker completes it, and the message
   Redis redelivers later does nothing (the row says the job is done).
3. Redis restarts (it keeps nothing on disk) with jobs queued and jobs running, and jobs are
   submitted while it is down: the running ones finish, the others are re-enqueued from the
   database, and none runs twice.

The engine is the test double (``fake``, a tone per sentence after a short delay), declared
in an engines file the way an operator declares any engine, so jobs take a known time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import peers
from tests.cluster import ADMIN_KEY, Cluster, Process
from tests.conftest import tone_wav

SENTENCE_DELAY_S = 0.1
LEASE_S = 3.0
VISIBILITY_S = 4.0
TIMINGS = {
    "VOXCLONE_JOBS__LEASE_S": str(LEASE_S),
    "VOXCLONE_JOBS__HEARTBEAT_S": "0.5",
    "VOXCLONE_JOBS__SWEEP_S": "0.5",
    "VOXCLONE_JOBS__REQUEUE_AFTER_S": "2",
    "VOXCLONE_WORKER__VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
}
ENGINE = (
    'name = "fake"\ntype = "python"\ntarget = "voxclone.engines.fake:FakeEngine"\n'
    f"options = {{ delay_s = {SENTENCE_DELAY_S} }}\n"
)


class Deployment:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.apis = [cluster.start_api("api1"), cluster.start_api("api2")]
        self.workers = [cluster.start_worker("worker1"), cluster.start_worker("worker2")]
        cluster.wait_ready([*self.apis, *self.workers])
        admin = {"X-API-Key": ADMIN_KEY}
        key = httpx.post(f"{self.url(0)}/v1/keys", json={"label": "it"}, headers=admin).json()
        self.user = {"Authorization": f"Bearer {key['api_key']}"}
        voice = httpx.post(
            f"{self.url(1)}/v1/voices",
            data={"name": "narrator"},
            files={"ref_audio": ("ref.wav", tone_wav())},
            headers=self.user,
            timeout=30,
        )
        assert voice.status_code == 201, voice.text
        self.voice_id = voice.json()["voice_id"]

    def url(self, i: int) -> str:
        url = self.apis[i % len(self.apis)].url
        assert url is not None
        return url

    def submit(self, texts: list[str], *, first_host: int = 0) -> list[str]:
        """POST /v1/synthesize for each text, alternating hosts, a few at a time."""

        async def one(client: httpx.AsyncClient, i: int, text: str) -> str:
            r = await client.post(
                f"{self.url(first_host + i)}/v1/synthesize",
                json={"voice_id": self.voice_id, "text": text},
                headers=self.user,
            )
            assert r.status_code == 202, r.text
            return str(r.json()["job_id"])

        async def all_of_them() -> list[str]:
            limit = asyncio.Semaphore(8)
            async with httpx.AsyncClient(timeout=30) as client:

                async def bounded(i: int, text: str) -> str:
                    async with limit:
                        return await one(client, i, text)

                return list(await asyncio.gather(*(bounded(i, t) for i, t in enumerate(texts))))

        return asyncio.run(all_of_them())

    def jobs(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        quoted = ", ".join(f"'{job_id}'" for job_id in ids)
        rows = peers.query(
            self.cluster.database_url,
            f"SELECT id, status, attempts, worker, audio_key, cache_key, error "
            f"FROM jobs WHERE id IN ({quoted})",
        )
        return {row["id"]: row for row in rows}

    def wait_finished(self, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.jobs(ids)
            if all(r["status"] in ("ready", "failed", "cancelled") for r in rows.values()):
                return rows
            if time.monotonic() > deadline:
                states = sorted({(r["status"], r["attempts"]) for r in rows.values()})
                raise AssertionError(f"jobs not finished in {timeout} s: {states}\n{self.logs()}")
            time.sleep(0.2)

    def worker_of(self, row: dict[str, Any]) -> Process:
        pid = int(str(row["worker"]).rsplit(":", 1)[1])
        for worker in self.workers:
            if worker.holds(pid):
                return worker
        raise AssertionError(f"no live worker holds pid {pid}")

    def stored(self, audio_key: str) -> bytes:
        name = f"voxclone/{audio_key}"
        body = self.cluster.s3.client().get_object(Bucket=self.cluster.bucket, Key=name)["Body"]
        return bytes(body.read())

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.output()[-2500:]}" for p in self.cluster.processes if p.output()
        )


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, s3_server: peers.S3Server
) -> Iterator[Deployment]:
    peers.ensure_redis()
    root: Path = tmp_path_factory.mktemp("cluster")
    cluster = Cluster.create(root, s3=s3_server, engines=ENGINE, settings=TIMINGS)
    try:
        yield Deployment(cluster)
    finally:
        cluster.close()
        peers.ensure_redis()


def test_fifty_jobs_over_two_hosts_complete_exactly_once(deployment: Deployment) -> None:
    ids = deployment.submit([f"Request number {i} of fifty." for i in range(50)])
    assert len(set(ids)) == 50
    rows = deployment.wait_finished(ids, timeout=90)

    assert {r["status"] for r in rows.values()} == {"ready"}, [r["error"] for r in rows.values()]
    assert {r["attempts"] for r in rows.values()} == {1}  # each claimed (run) exactly once
    holders = {deployment.worker_of(r).name for r in rows.values()}
    assert holders == {"worker1", "worker2"}
    with httpx.Client(timeout=30) as client:
        for i, job_id in enumerate(ids):
            stored = deployment.stored(rows[job_id]["audio_key"])
            assert stored[:4] == b"RIFF" and len(stored) > 1000
            # Downloaded through the host that did not take the request, streamed from S3.
            r = client.get(
                f"{deployment.url(i + 1)}/v1/jobs/{job_id}/audio", headers=deployment.user
            )
            assert r.status_code == 200 and r.content == stored


def test_a_job_survives_its_worker_being_killed(deployment: Deployment) -> None:
    text = " ".join(f"This is sentence {i} of a long job." for i in range(25))  # 2.5 s of work
    (job_id,) = deployment.submit([text])
    deadline = time.monotonic() + 30
    while (row := deployment.jobs([job_id])[job_id])["status"] != "running":
        assert row["status"] == "pending" and time.monotonic() < deadline, row
        time.sleep(0.05)
    time.sleep(0.5)  # well into the job
    victim = deployment.worker_of(row)
    survivor = next(w for w in deployment.workers if w is not victim)
    victim.kill()
    assert deployment.jobs([job_id])[job_id]["status"] == "running"

    row = deployment.wait_finished([job_id], timeout=40)[job_id]
    assert row["status"] == "ready", row
    assert row["attempts"] == 2  # the killed run, then the one that finished
    assert deployment.worker_of(row) is survivor
    # One result: the job's audio is the cached rendering of its text, stored once.
    cached = peers.query(
        deployment.cluster.database_url,
        f"SELECT audio_key FROM synthesis_cache WHERE cache_key = '{row['cache_key']}'",
    )
    assert deployment.stored(row["audio_key"]) == deployment.stored(cached[0]["audio_key"])

    # Redis hands the dead worker's message back after the visibility timeout; it finds the
    # job finished and does nothing.
    redis = _redis()
    deadline = time.monotonic() + VISIBILITY_S + 20
    while redis.hlen("unacked") or redis.llen(deployment.cluster.queue_name):
        assert time.monotonic() < deadline, "the dead worker's message was never redelivered"
        time.sleep(0.2)
    time.sleep(0.5)
    assert deployment.jobs([job_id])[job_id]["attempts"] == 2

    deployment.workers = [survivor, deployment.cluster.start_worker("worker3")]
    deployment.cluster.wait_ready(deployment.workers)


def test_jobs_survive_a_redis_restart(deployment: Deployment) -> None:
    texts = [" ".join(f"Queued job {i}, sentence {k}." for k in range(5)) for i in range(10)]
    queued = deployment.submit(texts)
    deadline = time.monotonic() + 20
    while not any(r["status"] == "running" for r in deployment.jobs(queued).values()):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    redis = _redis()
    assert redis.llen(deployment.cluster.queue_name) > 0  # jobs are waiting in Redis
    peers.stop_redis()
    try:
        # While Redis is down the API still takes requests: the rows are the truth.
        during = deployment.submit([f"Sent while Redis was down, number {i}." for i in range(3)])
    finally:
        peers.ensure_redis()
    assert _redis().llen(deployment.cluster.queue_name) == 0  # Redis came back empty

    ids = queued + during
    rows = deployment.wait_finished(ids, timeout=90)
    assert {r["status"] for r in rows.values()} == {"ready"}, [r["error"] for r in rows.values()]
    assert {r["attempts"] for r in rows.values()} == {1}  # none ran twice
    for row in rows.values():
        assert deployment.stored(row["audio_key"])[:4] == b"RIFF"


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(peers.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
