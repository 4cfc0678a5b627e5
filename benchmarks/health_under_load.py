"""Does the server stay responsive while every core synthesises? /health latency under load.

Starts `voxclone serve` (the embedded mode, a temporary data dir) on a free loopback port,
creates a key, then for ``--seconds`` keeps ``--synth`` syntheses running at once (new text
each time, so every one is a cache miss that runs the engine) on each engine of ``--engines``
(Kokoro's stock voice `af_heart` on `local`, Piper's `en_US-joe-medium` on `piper`), while one
client asks `GET /health` every 50 ms on its own connection. Prints, per engine, the health
p50 / p99 / max and how many syntheses finished; a quiet baseline (no synthesis) comes first.
Target (issue 16): health p99 < 50 ms while both cores synthesise.

    .venv/bin/python benchmarks/health_under_load.py [--engines local piper] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import ADMIN, pct
from hot_path import start

TEXT = (
    "Sentence {n}: the early train was quiet except for the rain against the windows, "
    "and nobody on board seemed to mind the delay at all."
)


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not start")


def health_probe(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=10) as c:
        while not stop.is_set():
            t = time.perf_counter()
            assert c.get("/health").status_code == 200
            out.append((time.perf_counter() - t) * 1000)
            stop.wait(0.05)


def synth_loop(
    base: str, auth: dict[str, str], engine: str, voice: str, stop: threading.Event, done: list[int]
) -> None:
    with httpx.Client(base_url=base, timeout=300, headers=auth) as c:
        while not stop.is_set():
            n = time.monotonic_ns()
            r = c.post(
                "/v1/audio/speech",
                json={"model": engine, "voice": voice, "input": TEXT.format(n=n)},
            )
            if r.status_code != 200:
                print(f"{engine}: {r.status_code} {r.text[:200]}", file=sys.stderr)
                stop.set()
                return
            done.append(1)


def measure(
    base: str, auth: dict[str, str], engine: str | None, voice: str, synth: int, seconds: float
) -> tuple[list[float], int]:
    stop = threading.Event()
    health: list[float] = []
    done: list[int] = []
    threads = [threading.Thread(target=health_probe, args=(base, stop, health))]
    if engine is not None:
        threads += [
            threading.Thread(target=synth_loop, args=(base, auth, engine, voice, stop, done))
            for _ in range(synth)
        ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return health, len(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["local", "piper"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--synth", type=int, default=2, help="syntheses running at once")
    args = parser.parse_args()
    voices = {"local": "af_heart", "piper": "en_US-joe-medium"}
    with tempfile.TemporaryDirectory() as data:
        server, port = start(data, 1)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base)
            key = httpx.post(
                f"{base}/v1/keys", json={"label": "health"}, headers={"X-API-Key": ADMIN}
            ).json()["api_key"]
            auth = {"Authorization": f"Bearer {key}"}
            rows = [("quiet", *measure(base, auth, None, "", 0, min(args.seconds, 10.0)))]
            for engine in args.engines:
                voice = voices.get(engine, "default")
                measure(base, auth, engine, voice, 1, 3.0)  # load the engine first
                rows.append((engine, *measure(base, auth, engine, voice, args.synth, args.seconds)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nGET /health every 50 ms; {args.synth} syntheses at once; cpus={os.cpu_count()}")
    print(f"{'load':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'syntheses':>10}")
    for name, health, done in rows:
        print(
            f"{name:<10} {len(health):>5} {statistics.median(health):>8.2f} "
            f"{pct(health, 0.99):>8.2f} {max(health):>8.2f} {done:>10}"
        )


if __name__ == "__main__":
    main()
