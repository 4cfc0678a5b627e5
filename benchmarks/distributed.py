"""The distributed mode: worker scaling, queue latency, and cache hits on PostgreSQL vs SQLite.

Runs on this machine's real PostgreSQL and Redis (started by `.ci/run`, or by hand) and moto's
S3 server on loopback, with every voxclone process started from the command line
(`voxclone serve`, `voxclone worker`), as in tests/integration/test_distributed.py:

- throughput: a burst of synthesis jobs (one ~12-word sentence each, built-in `piper` engine,
  one onnxruntime thread per worker) through one API host to 1, then 2 workers; jobs per
  minute from the first request to the last job done, and the scaling ratio. The same with
  an engine that only waits (the test double sleeping 0.5 s per job, as a worker waits on a
  GPU or a provider server), which separates the dispatch's scaling from the CPU's;
- queue latency: enqueue -> start (`created_at` -> `started_at` of the job row) for jobs sent
  one at a time to idle workers, p50 / p99;
- cache hits: POST /v1/synthesize for audio already made (200, X-Cache: HIT), p50 / p95, on an
  embedded server with SQLite, the same with PostgreSQL, and a distributed API host
  (PostgreSQL + S3 + Celery).

Prints one table.

    .venv/bin/python benchmarks/distributed.py [--jobs 40] [--latency-samples 40] [--hits 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the cluster helpers live with the tests

from tests import peers  # noqa: E402
from tests.cluster import ADMIN_KEY, Cluster, Process  # noqa: E402
from tests.conftest import tone_wav  # noqa: E402

TEXT = (
    "the quiet harbor woke slowly as fishing boats returned with nets full of silver "
    "light while gulls argued over scraps along the weathered wooden pier"
)
WORDS = TEXT.split()


def sentence(i: int) -> str:
    """A distinct ~12-word sentence for each i (so every job is a cache miss)."""
    start = i % (len(WORDS) - 12)
    return f"Take {i}: " + " ".join(WORDS[start : start + 12]) + "."


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Api:
    def __init__(self, process: Process, backend: str = "piper") -> None:
        assert process.url is not None
        self.http = httpx.Client(base_url=process.url, timeout=120)
        key = self.http.post("/v1/keys", json={"label": "b"}, headers={"X-API-Key": ADMIN_KEY})
        self.user = {"Authorization": f"Bearer {key.json()['api_key']}"}
        voice = self.http.post(
            "/v1/voices",
            data={"name": "bench", "backend": backend},
            files={"ref_audio": ("ref.wav", tone_wav())},
            headers=self.user,
        )
        assert voice.status_code == 201, voice.text
        self.voice = voice.json()["voice_id"]

    def synthesize(self, text: str) -> httpx.Response:
        return self.http.post(
            "/v1/synthesize", json={"voice_id": self.voice, "text": text}, headers=self.user
        )

    def job(self, job_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/v1/jobs/{job_id}", headers=self.user).json()
        return body

    def wait(self, job_ids: list[str], timeout: float = 600) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        pending = list(job_ids)
        done: dict[str, dict[str, Any]] = {}
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(pending)} job(s) did not finish in {timeout} s")
            for job_id in list(pending):
                job = self.job(job_id)
                if job["status"] in ("ready", "failed", "cancelled"):
                    if job["status"] != "ready":
                        raise SystemExit(f"job {job_id}: {job['status']} {job['error']}")
                    done[job_id] = job
                    pending.remove(job_id)
            time.sleep(0.05)
        return [done[j] for j in job_ids]


def throughput(api: Api, database_url: str, first: int, n: int) -> float:
    """Jobs per minute for a burst of ``n`` jobs: first request to last completion, from the
    job rows (polled from the database twice a second, so watching costs the workers nothing).
    """
    ids = []
    for i in range(first, first + n):
        r = api.synthesize(sentence(i))
        assert r.status_code == 202, r.text
        ids.append(r.json()["job_id"])
    quoted = ", ".join(f"'{job_id}'" for job_id in ids)
    deadline = time.monotonic() + 600
    while True:
        (row,) = peers.query(
            database_url,
            "SELECT count(*) FILTER (WHERE status = 'ready') AS ready, "
            "count(*) FILTER (WHERE status IN ('failed', 'cancelled')) AS bad, "
            "extract(epoch FROM max(completed_at) - min(created_at)) AS span_s "
            f"FROM jobs WHERE id IN ({quoted})",
        )
        if row["bad"]:
            raise SystemExit(f"{row['bad']} job(s) failed")
        if row["ready"] == n:
            return n / float(row["span_s"]) * 60
        if time.monotonic() > deadline:
            raise SystemExit("the burst did not finish in 10 minutes")
        time.sleep(0.5)


def queue_latency(api: Api, first: int, n: int) -> list[float]:
    """enqueue -> start in ms, one job at a time (the workers are idle when it arrives)."""
    latencies = []
    for i in range(first, first + n):
        r = api.synthesize(f"Short {i}.")
        (job,) = api.wait([r.json()["job_id"]])
        latencies.append(_ms(job["started_at"]) - _ms(job["created_at"]))
    return latencies


def _ms(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000


def cache_hits(api: Api, n: int) -> list[float]:
    r = api.synthesize("The cached sentence.")
    if r.status_code == 202:
        api.wait([r.json()["job_id"]])
    timings = []
    for _ in range(n):
        t = time.perf_counter()
        r = api.synthesize("The cached sentence.")
        timings.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", r.text
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per throughput burst")
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--hits", type=int, default=300)
    args = parser.parse_args()

    peers.ensure_redis()
    s3 = peers.S3Server().start()
    root = Path(tempfile.mkdtemp(prefix="voxclone-bench-"))
    # Besides piper, the test double "waiting": 0.5 s of sleep per job, like an engine that
    # waits on a GPU or a provider server, to show the dispatch itself scaling.
    waiting = (
        'name = "waiting"\ntype = "python"\ntarget = "voxclone.engines.fake:FakeEngine"\n'
        "options = { delay_s = 0.5 }\n"
    )
    cluster = Cluster.create(
        root,
        s3=s3,
        engines=waiting,
        settings={
            "VOXCLONE_DEFAULT_BACKEND": "piper",
            "VOXCLONE_PIPER__THREADS": "1",
        },
    )
    rows: list[tuple[str, str]] = []
    try:
        api_process = cluster.start_api("api")
        workers = [cluster.start_worker("worker1")]
        cluster.wait_ready([api_process, *workers])
        api, waiter = Api(api_process), Api(api_process, backend="waiting")
        api.wait([api.synthesize(sentence(-1)).json()["job_id"]])  # warm up
        waits = max(4, args.jobs // 2)

        one = throughput(api, cluster.database_url, 0, args.jobs)
        one_waiting = throughput(waiter, cluster.database_url, 0, waits)
        latencies = queue_latency(api, 10_000, args.latency_samples)
        workers.append(cluster.start_worker("worker2"))
        cluster.wait_ready(workers)
        api.wait([api.synthesize(f"Warm {i}.").json()["job_id"] for i in range(4)])
        two = throughput(api, cluster.database_url, 1000, args.jobs)
        two_waiting = throughput(waiter, cluster.database_url, 1000, waits)
        distributed_hits = cache_hits(api, args.hits)
        for worker in workers:
            worker.stop()

        embedded = {"VOXCLONE_QUEUE": "inprocess", "VOXCLONE_STORAGE_URL": ""}
        sqlite_process = cluster.start_api("sqlite", VOXCLONE_DATABASE_URL="", **embedded)
        postgres_process = cluster.start_api("postgres", **embedded)
        cluster.wait_ready([sqlite_process, postgres_process])
        sqlite_hits = cache_hits(Api(sqlite_process), args.hits)
        postgres_hits = cache_hits(Api(postgres_process), args.hits)

        rows += [
            ("throughput, 1 worker (piper, jobs/min)", f"{one:.0f}"),
            ("throughput, 2 workers (piper, jobs/min)", f"{two:.0f}"),
            ("scaling ratio, 2 workers / 1", f"{two / one:.2f}"),
            ("throughput, 1 worker (engine waiting 0.5 s/job, jobs/min)", f"{one_waiting:.0f}"),
            ("throughput, 2 workers (engine waiting 0.5 s/job, jobs/min)", f"{two_waiting:.0f}"),
            ("scaling ratio, waiting engine, 2 workers / 1", f"{two_waiting / one_waiting:.2f}"),
            (
                "queue latency enqueue -> start, p50 / p99 (ms)",
                f"{pct(latencies, 0.5):.0f} / {pct(latencies, 0.99):.0f}",
            ),
        ]
        for name, hits in (
            ("SQLite, local disk (embedded)", sqlite_hits),
            ("PostgreSQL, local disk (embedded)", postgres_hits),
            ("PostgreSQL + S3 + Celery (distributed host)", distributed_hits),
        ):
            rows.append(
                (
                    f"cache hit, {name}, p50 / p95 (ms)",
                    f"{statistics.median(hits):.1f} / {pct(hits, 0.95):.1f}",
                )
            )
    finally:
        cluster.close()
        s3.stop()

    width = max(len(name) for name, _ in rows)
    print(f"\n| {'what':<{width}} | figure |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    print(
        f"\n{args.jobs} jobs per burst, {args.latency_samples} latency samples, "
        f"{args.hits} cache hits per row; one API host; 2 CPU cores shared by every process."
    )


if __name__ == "__main__":
    main()
