"""API latency over real HTTP: a cache hit, one sentence with Piper, five sentences streamed.

Starts `voxclone serve` on a free loopback port with a temporary data dir (SQLite, local disk,
Piper), creates a key and a voice from a real recording, then measures:

- cache hit: POST /v1/synthesize for text already synthesized (200, X-Cache: HIT);
- Piper sentence: POST /v1/text-to-speech/{voice} with a new sentence each time (cache miss,
  synchronous synthesis of one ~10-word sentence, WAV out);
- five sentences with Piper, time to the first byte of audio and to the last: streamed
  (POST /v1/text-to-speech/{voice}/stream) and not (POST /v1/text-to-speech/{voice}), taking
  turns, each request a new text (cache misses), WAV out;
- the admit and record steps on a cache hit, two ways: over HTTP, cache hits of a key with a
  quota and a rate limit (both checked on every request) taking turns with a key with neither;
  and in process, the steps alone (rate window, quota, usage record) timed over many calls.

Prints one table of p50 / p95 / mean in milliseconds.

    .venv/bin/python benchmarks/api_latency.py [--hits 300] [--misses 20] [--streams 7]
"""

from __future__ import annotations

import argparse
import asyncio
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
    parser.add_argument("--steps", type=int, default=5000, help="in-process admit+record calls")
    args = parser.parse_args()
    steps_us = asyncio.run(admit_and_record_us(args.steps)) if args.steps else []

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
            run(f"http://127.0.0.1:{port}", args.hits, args.misses, args.streams, steps_us)
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


async def admit_and_record_us(calls: int) -> list[float]:
    """Microseconds per cache hit spent in the admit and record steps alone: the rate window
    (in memory), the quota (characters used, cached) and the usage record (buffered), on a key
    that has both limits, in a process of its own on a temporary SQLite database."""
    from voxclone.config import Settings
    from voxclone.services.container import build_services
    from voxclone.services.keys import Principal
    from voxclone.services.synthesis import SynthesisAct

    with tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, data_dir=Path(data), admin_key=ADMIN)  # type: ignore[call-arg]
        services = build_services(settings)
        await services.start(run_jobs=False)
        try:
            issued = await services.keys.create(
                label="steps", rate_limit_per_minute=10**9, monthly_char_quota=10**9
            )
            caller = Principal(
                key_id=issued.record.id, rate_limit_per_minute=10**9, monthly_char_quota=10**9
            )
            act = SynthesisAct(
                key_id=issued.record.id,
                entry="synthesize",
                text=SENTENCES[0],
                backend="piper",
                audio_s=4.2,
                cache_hit=True,
            )
            timings: list[float] = []
            for _ in range(calls):
                t = time.perf_counter()
                await services.admission.check_rate(caller)
                await services.admission.admit(caller, characters=len(SENTENCES[0]))
                await services.recorder.record(act)
                timings.append((time.perf_counter() - t) * 1e6)
            return timings
        finally:
            await services.close()


def run(base: str, hits: int, misses: int, streams: int, steps_us: list[float]) -> None:
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

        # The same hits, a key with a quota and a rate limit taking turns with one without.
        limited, unlimited = limited_key_hits(c, user, voice, hits)

    rows = [
        (f"cache hit, POST /v1/synthesize (n={hits})", hit_ms, None),
        (f"cache hit, key with quota + rate limit (n={hits})", limited, None),
        (f"cache hit, key without limits, in turn (n={hits})", unlimited, None),
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
    if steps_us:
        print(
            f"{f'admit + record steps, in process, µs (n={len(steps_us)})':<52} "
            f"{statistics.median(steps_us):8.1f} {pct(steps_us, 0.95):8.1f} "
            f"{statistics.fmean(steps_us):8.1f}"
        )


def limited_key_hits(
    c: httpx.Client, user: dict[str, str], voice: str, hits: int
) -> tuple[list[float], list[float]]:
    """Cache hits of a key with a quota and a rate limit (checked on each) and of the key
    without, taking turns, in milliseconds. The limited key has its own copy of the voice."""
    admin = {"X-API-Key": ADMIN}
    key = c.post(
        "/v1/keys",
        json={"label": "limited", "rate_limit_per_minute": 10**9, "monthly_char_quota": 10**9},
        headers=admin,
    ).json()
    if "api_key" not in key:  # a server from before per-key limits were enforced
        key = c.post("/v1/keys", json={"label": "limited"}, headers=admin).json()
    limited_user = {"Authorization": f"Bearer {key['api_key']}"}
    clip = reference()
    limited_voice = c.post(
        "/v1/voices",
        data={"name": "limited", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes())},
        headers=limited_user,
    ).json()["voice_id"]
    bodies = {
        "limited": ({"voice_id": limited_voice, "text": SENTENCES[1]}, limited_user),
        "unlimited": ({"voice_id": voice, "text": SENTENCES[1]}, user),
    }
    timings: dict[str, list[float]] = {"limited": [], "unlimited": []}
    for body, headers in bodies.values():
        r = c.post(
            f"/v1/text-to-speech/{body['voice_id']}", json={"text": body["text"]}, headers=headers
        )
        assert r.status_code == 200, r.text
    for i in range(hits + 20):
        for name, (body, headers) in bodies.items():
            t = time.perf_counter()
            r = c.post("/v1/synthesize", json=body, headers=headers)
            if i >= 20:  # the first 20 of each warm up
                timings[name].append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", r.text
    return timings["limited"], timings["unlimited"]


if __name__ == "__main__":
    main()
