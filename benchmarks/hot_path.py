"""The hot path: a cached text-to-speech request, with `wrk` and with one client.

Starts `voxclone serve --workers N` (N = 1, then 2) on a free loopback port with a temporary
data dir (SQLite, local disk, Piper), creates a key (with a rate limit and a quota, so both are
checked on every request) and a voice, synthesizes one sentence (the cache miss), then per run:

- wrk: `wrk -t2 -c20 -d10s` POSTing that sentence to /v1/text-to-speech/{voice} (every answer
  a cache hit, X-Cache: HIT) → requests/s and wrk's p50 / p99 latency;
- one client: a tight loop of the same request on one persistent connection (http.client,
  so the client costs little) → p50 / p99 in milliseconds.

Each figure is the median of ``--runs`` runs (3). Needs `wrk` (Debian: apt-get install wrk).
The server is not niced; the machine may be shared, so read the figures with that in mind.

    .venv/bin/python benchmarks/hot_path.py [--workers 1 2] [--runs 3] [--duration 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import ADMIN, SENTENCES, free_port, reference

JSON = {"Content-Type": "application/json"}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {auth}
"""


def start(data: str, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "VOXCLONE_DATA_DIR": data,
        "VOXCLONE_ADMIN_KEY": ADMIN,
        "VOXCLONE_DEFAULT_BACKEND": "piper",
        "VOXCLONE_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "voxclone", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=env, cwd=data)
    return server, port


def prepare(base: str) -> tuple[str, str, str]:
    """The path, body and Authorization header of a request that is a cache hit."""
    with httpx.Client(base_url=base, timeout=120) as c:
        deadline = time.monotonic() + 90
        while True:
            try:
                if c.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{base} did not start")
            time.sleep(0.2)
        key = c.post(
            "/v1/keys",
            json={"label": "hot", "rate_limit_per_minute": 10**9, "monthly_char_quota": 10**9},
            headers={"X-API-Key": ADMIN},
        ).json()["api_key"]
        auth = f"Bearer {key}"
        clip = reference()
        voice = c.post(
            "/v1/voices",
            data={"name": "hot", "backend": "piper"},
            files={"ref_audio": (clip.name, clip.read_bytes())},
            headers={"Authorization": auth},
        ).json()["voice_id"]
        path = f"/v1/text-to-speech/{voice}"
        body = json.dumps({"text": SENTENCES[0]})
        for _ in range(3):  # the miss, then hits on (most likely) every worker
            r = c.post(path, content=body, headers={"Authorization": auth, **JSON})
            assert r.status_code == 200, r.text
        assert r.headers["X-Cache"] == "HIT", r.headers
    return path, body, auth


def one_client(port: int, path: str, body: str, auth: str, seconds: float) -> list[float]:
    """Milliseconds per request, one persistent connection, for ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    timings: list[float] = []
    end = time.perf_counter() + seconds
    payload = body.encode()
    while time.perf_counter() < end:
        t = time.perf_counter()
        conn.request("POST", path, body=payload, headers=headers)
        r = conn.getresponse()
        r.read()
        timings.append((time.perf_counter() - t) * 1000)
        assert r.status == 200 and r.getheader("X-Cache") == "HIT", r.status
    conn.close()
    return timings[len(timings) // 10 :]  # the first tenth warms up


def wrk(port: int, path: str, body: str, auth: str, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT.format(body=json.dumps(body), auth=json.dumps(auth)))
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c20",
                f"-d{seconds}s",
                "--latency",
                "-s",
                f.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": _ms(out, "50%"), "p99": _ms(out, "99%")}


def _ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(workers: int, runs: int, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        server, port = start(data, workers)
        try:
            path, body, auth = prepare(f"http://127.0.0.1:{port}")
            figures: dict[str, list[float]] = {}
            for _ in range(runs):
                for name, value in wrk(port, path, body, auth, seconds).items():
                    figures.setdefault(f"wrk {name}", []).append(value)
                single = one_client(port, path, body, auth, min(seconds, 5))
                ordered = sorted(single)
                figures.setdefault("one p50", []).append(statistics.median(single))
                figures.setdefault("one p99", []).append(ordered[int(0.99 * len(ordered))])
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk (Debian: apt-get install wrk)")
    rows = {n: measure(n, args.runs, args.duration) for n in args.workers}
    print(f"\ncache hit, POST /v1/text-to-speech/{{voice}}, median of {args.runs} runs")
    print(
        f"{'workers':>7} {'wrk req/s':>10} {'wrk p50 ms':>11} {'wrk p99 ms':>11} "
        f"{'1 client p50 ms':>16} {'1 client p99 ms':>16}"
    )
    for n, f in rows.items():
        print(
            f"{n:>7} {f['wrk rps']:>10.0f} {f['wrk p50']:>11.2f} {f['wrk p99']:>11.2f} "
            f"{f['one p50']:>16.3f} {f['one p99']:>16.3f}"
        )


if __name__ == "__main__":
    main()
