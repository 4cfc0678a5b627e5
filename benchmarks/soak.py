"""Does the server stay healthy under hours of mixed traffic? Errors, latency and RSS per minute.

    .venv/bin/python benchmarks/soak.py [--minutes 30] [--clients 4]

Starts a real `voxclone serve` (the embedded mode: SQLite, local disk, Piper as the default
engine) on loopback and sends it, from ``--clients`` concurrent loops, a mix of: cache hits
(the same sentence again), new syntheses (a sentence never asked before), transcriptions of a
real clip, voice creations from a real clip, and text-to-speech WebSocket sessions. A separate
poller asks /health every 200 ms. Each minute prints errors, p50/p99 latency per kind, health
p99 and the server's RSS; the summary says whether RSS stayed flat after warm-up (growth < 5 %
from the end of minute 2 to the end, and between the medians of minutes 3-7 and of the last
five, since one minute's RSS swings by ~10 % with the allocator) and health p99 stayed under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ADMIN = "vxadmin_soak-benchmark-key-0001"
WORDS = ["amber", "river", "quiet", "lantern", "morning", "copper", "violet", "harbor", "meadow"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.health: list[float] = []

    def reset(self) -> Stats:
        old = Stats()
        old.latency, old.errors, old.health = self.latency, self.errors, self.health
        self.latency, self.errors, self.health = defaultdict(list), defaultdict(int), []
        return old


async def timed(stats: Stats, kind: str, call: object) -> None:
    started = time.perf_counter()
    try:
        ok = await call  # type: ignore[misc]
    except Exception as exc:  # counted, and shown once per kind
        ok = False
        if stats.errors[kind] == 0:
            print(f"  {kind}: {type(exc).__name__}: {exc}"[:200])
    if ok:
        stats.latency[kind].append((time.perf_counter() - started) * 1000)
    else:
        stats.errors[kind] += 1


async def client_loop(
    http: httpx.AsyncClient, ws_url: str, key: str, voice: str, clip: bytes, stats: Stats,
    stop: float,
) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random()

    async def speak(text: str) -> bool:
        r = await http.post(f"/v1/text-to-speech/{voice}", json={"text": text}, headers=headers)
        return r.status_code == 200 and len(r.content) > 1000

    async def transcribe() -> bool:
        r = await http.post(
            "/v1/audio/transcriptions",
            data={"model": "whisper-1"},
            files={"file": ("clip.wav", clip, "audio/wav")},
            headers=headers,
        )
        return r.status_code == 200 and bool(r.json().get("text"))

    async def clone() -> bool:
        r = await http.post(
            "/v1/voices",
            data={"name": "soak", "backend": "piper", "ref_text": "soak"},
            files={"ref_audio": ("clip.wav", clip, "audio/wav")},
            headers=headers,
        )
        if r.status_code != 201:
            return False
        gone = await http.delete(f"/v1/voices/{r.json()['voice_id']}", headers=headers)
        return gone.status_code == 204

    async def stream() -> bool:
        url = f"{ws_url}/v1/text-to-speech/{voice}/ws"
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"text": "A streamed sentence. "}))
            await ws.send(json.dumps({"text": ""}))
            audio = 0
            async for message in ws:
                if isinstance(message, bytes):
                    audio += len(message)
                elif json.loads(message).get("type") == "final":
                    break
        return audio > 1000

    while time.monotonic() < stop:
        roll = rng.random()
        if roll < 0.5:
            await timed(stats, "cache hit", speak("The same sentence, again and again."))
        elif roll < 0.75:
            text = " ".join(rng.choice(WORDS) for _ in range(6)) + f" {rng.randrange(10**9)}."
            await timed(stats, "new synthesis", speak(text))
        elif roll < 0.85:
            await timed(stats, "transcription", transcribe())
        elif roll < 0.92:
            await timed(stats, "voice creation", clone())
        else:
            await timed(stats, "websocket", stream())


async def health_loop(http: httpx.AsyncClient, stats: Stats, stop: float) -> None:
    while time.monotonic() < stop:
        started = time.perf_counter()
        try:
            r = await http.get("/health")
            if r.status_code == 200:
                stats.health.append((time.perf_counter() - started) * 1000)
            else:
                stats.errors["health"] += 1
        except httpx.HTTPError:
            stats.errors["health"] += 1
        await asyncio.sleep(0.2)


async def soak(url: str, pid: int, minutes: float, clients: int, clip: bytes) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        r = await http.post("/v1/keys", json={"label": "soak"}, headers={"X-API-Key": ADMIN})
        key = r.json()["api_key"]
        r = await http.post(
            "/v1/voices",
            data={"name": "soak-main", "backend": "piper", "ref_text": "soak"},
            files={"ref_audio": ("clip.wav", clip, "audio/wav")},
            headers={"Authorization": f"Bearer {key}"},
        )
        voice = r.json()["voice_id"]
        stats = Stats()
        stop = time.monotonic() + minutes * 60
        ws_url = url.replace("http://", "ws://")
        tasks = [
            asyncio.create_task(client_loop(http, ws_url, key, voice, clip, stats, stop))
            for _ in range(clients)
        ] + [asyncio.create_task(health_loop(http, stats, stop))]
        kinds = ["cache hit", "new synthesis", "transcription", "voice creation", "websocket"]
        print(f"{'min':>4} {'errors':>6} " + " ".join(f"{k[:12]:>18}" for k in kinds)
              + f" {'health p99':>10} {'RSS MB':>7}")  # fmt: skip
        print(f"{'':>4} {'':>6} " + " ".join(f"{'n p50/p99 ms':>18}" for _ in kinds))
        rss: list[float] = []
        minute = 0
        while any(not t.done() for t in tasks):
            await asyncio.sleep(min(60.0, max(0.1, stop - time.monotonic())))
            minute += 1
            window = stats.reset()
            rss.append(rss_mb(pid))
            cells = []
            for k in kinds:
                lat = window.latency[k]
                cells.append(f"{len(lat):>4} {p(lat, 0.5):>6.0f}/{p(lat, 0.99):<6.0f}")
            errors = sum(window.errors.values())
            print(f"{minute:>4} {errors:>6} " + " ".join(f"{c:>18}" for c in cells)
                  + f" {p(window.health, 0.99):>10.1f} {rss[-1]:>7.0f}")  # fmt: skip
            if time.monotonic() >= stop:
                break
        await asyncio.gather(*tasks, return_exceptions=True)
        if len(rss) > 2:
            growth = (rss[-1] - rss[1]) / rss[1] * 100
            print(f"RSS after warm-up {rss[1]:.0f} MB -> {rss[-1]:.0f} MB ({growth:+.1f} %)")
        if len(rss) >= 12:  # one minute's RSS swings by ~10 %: compare medians of five minutes
            early, late = statistics.median(rss[2:7]), statistics.median(rss[-5:])
            drift = (late - early) / early * 100
            print(
                f"RSS median of minutes 3-7 -> of the last 5: {early:.0f} -> {late:.0f} MB "
                f"({drift:+.1f} %)"
            )
        print(f"median RSS {statistics.median(rss):.0f} MB over {len(rss)} minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    from tests.e2e.test_piper_end_to_end import reference_clip
    from tests.remote.servers import free_port

    clip_path = reference_clip()
    import soundfile as sf

    samples, rate = sf.read(clip_path, dtype="float32")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        sf.write(wav, samples, rate, subtype="PCM_16")
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
            "VOXCLONE_DATA_DIR": f"{tmp}/data",
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_DEFAULT_BACKEND": "piper",
            "VOXCLONE_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{tmp}/server.log", "wb"),  # noqa: SIM115
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            asyncio.run(soak(url, server.pid, args.minutes, args.clients, wav.read_bytes()))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
