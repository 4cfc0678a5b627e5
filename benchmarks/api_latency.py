"""API latency over real HTTP: a cache hit, one sentence with Piper, five sentences streamed.

Starts `voxclone serve` on a free loopback port with a temporary data dir (SQLite, local disk,
Piper), creates a key and a voice from a real recording, then measures:

- cache hit: POST /v1/synthesize for text already synthesized (200, X-Cache: HIT);
- Piper sentence: POST /v1/text-to-speech/{voice} with a new sentence each time (cache miss,
  synchronous synthesis of one ~10-word sentence, WAV out);
- five sentences with Piper, time to the first byte of audio and to the last: streamed
  (POST /v1/text-to-speech/{voice}/stream) and not (POST /v1/text-to-speech/{voice}), taking
  turns, each request a new text (cache misses), WAV out.

Prints one table of p50 / p95 / mean in milliseconds.

    .venv/bin/python benchmarks/api_latency.py [--hits 300] [--misses 20] [--streams 7]
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
EVAL = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "eval" / "speech"
ADMIN = "vxadmin_benchmark"
SENTENCES = [
    "The early train was quiet except for the rain against the windows.",
    "She folded the map and decided to trust the old road instead.",
    "Every morning the baker opened his shop before the sun came up.",
    "A small boat drifted slowly toward the far side of the lake.",
    "He wrote the numbers down twice to be sure he had them right.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reference() -> Path:
    with (EVAL / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if 5 <= float(row["duration_s"]) <= 12:
                return EVAL / row["path"]
    raise SystemExit("no reference clip found in the evaluation set")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=300)
    parser.add_argument("--misses", type=int, default=20)
    parser.add_argument("--streams", type=int, default=7, help="requests of each kind")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "VOXCLONE_DATA_DIR": data,
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_DEFAULT_BACKEND": "piper",
            "VOXCLONE_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--port", str(port)], env=env, cwd=data
        )
        try:
            run(f"http://127.0.0.1:{port}", args.hits, args.misses, args.streams)
        finally:
            server.terminate()
            server.wait(timeout=30)


def first_and_last_byte(
    c: httpx.Client, path: str, text: str, user: dict[str, str]
) -> tuple[float, float]:
    """Milliseconds from sending the request to the first byte of audio, and to the last."""
    started = time.perf_counter()
    first = None
    with c.stream("POST", path, json={"text": text}, headers=user) as r:
        assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", r.read()
        for piece in r.iter_raw():
            if first is None and piece:
                first = time.perf_counter() - started
    assert first is not None
    return first * 1000, (time.perf_counter() - started) * 1000


def run(base: str, hits: int, misses: int, streams: int) -> None:
    with httpx.Client(base_url=base, timeout=120) as c:
        deadline = time.monotonic() + 60
        while True:
            try:
                if c.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        key = c.post("/v1/keys", json={"label": "bench"}, headers={"X-API-Key": ADMIN}).json()
        user = {"Authorization": f"Bearer {key['api_key']}"}
        clip = reference()
        voice = c.post(
            "/v1/voices",
            data={"name": "bench", "backend": "piper"},
            files={"ref_audio": (clip.name, clip.read_bytes())},
            headers=user,
        ).json()["voice_id"]

        # Piper sentence (cache misses): warm up, then a new sentence each time.
        tts = f"/v1/text-to-speech/{voice}"
        c.post(tts, json={"text": "Warm up."}, headers=user)
        miss_ms: list[float] = []
        audio_s: list[float] = []
        for i in range(misses):
            text = f"{SENTENCES[i % len(SENTENCES)]} Take {i}."
            t = time.perf_counter()
            r = c.post(tts, json={"text": text}, headers=user)
            miss_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", r.text
            audio_s.append(float(r.headers["X-Audio-Duration"]))

        # Five sentences, streamed and not, taking turns; a new text each time.
        timings: dict[str, list[float]] = {key: [] for key in ("sf", "sl", "wf", "wl")}
        paragraph_s: list[float] = []
        for i in range(streams):
            turn = SENTENCES[i % 5 :] + SENTENCES[: i % 5]
            for kind, path in (("s", f"/v1/text-to-speech/{voice}/stream"), ("w", tts)):
                text = " ".join(turn)[:-1] + f", take {kind}{i}."
                first, last = first_and_last_byte(c, path, text, user)
                timings[f"{kind}f"].append(first)
                timings[f"{kind}l"].append(last)
            r = c.post(tts, json={"text": text}, headers=user)  # a hit: the audio's length
            paragraph_s.append(float(r.headers["X-Audio-Duration"]))

        # Cache hits on /v1/synthesize.
        body = {"voice_id": voice, "text": SENTENCES[0]}
        first = c.post("/v1/synthesize", json=body, headers=user)
        if first.status_code == 202:
            job = first.json()["job_id"]
            while c.get(f"/v1/jobs/{job}", headers=user).json()["status"] != "ready":
                time.sleep(0.05)
        for _ in range(20):
            c.post("/v1/synthesize", json=body, headers=user)
        hit_ms: list[float] = []
        for _ in range(hits):
            t = time.perf_counter()
            r = c.post("/v1/synthesize", json=body, headers=user)
            hit_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.headers["X-Cache"] == "HIT"

    rows = [
        (f"cache hit, POST /v1/synthesize (n={hits})", hit_ms, None),
        (f"Piper sentence, POST /v1/text-to-speech (n={misses})", miss_ms, audio_s),
        (f"5 sentences streamed, first byte (n={streams})", timings["sf"], paragraph_s),
        (f"5 sentences streamed, last byte (n={streams})", timings["sl"], paragraph_s),
        (f"5 sentences not streamed, first byte (n={streams})", timings["wf"], paragraph_s),
        (f"5 sentences not streamed, last byte (n={streams})", timings["wl"], paragraph_s),
    ]
    print(f"{'request':<52} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'audio s':>8}")
    for name, values, audio in rows:
        a = f"{statistics.median(audio):8.2f}" if audio else f"{'':>8}"
        print(
            f"{name:<52} {statistics.median(values):8.1f} {pct(values, 0.95):8.1f} "
            f"{statistics.fmean(values):8.1f} {a}"
        )


if __name__ == "__main__":
    main()
