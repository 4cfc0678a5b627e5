"""Gateway overhead: what voxclone adds over calling a provider server directly.

Starts, on free loopback ports, real processes: ``voxclone provider serve`` instances of the
fake engine (tones, no model: the provider's own time is near zero, so what is measured is the
gateway) and one ``voxclone serve`` gateway whose engines file points at them, with the
synthesis cache off (``VOXCLONE_CACHE_ENABLED=false``). Then:

- latency: the same sentence 200 times directly (``POST /v1/generate`` on the provider, with
  the voice prompt, JSON as the spec has it) and 200 times through the gateway
  (``POST /v1/text-to-speech/{voice}``: auth, voice and prompt lookups, the provider call, WAV
  out), interleaved; the gateway's p50/p99 minus the provider's is the overhead. The gateway
  asks voxclone's provider for raw samples (``Accept: application/octet-stream``); a second
  engine on the same provider with ``binary = false`` shows the overhead with the spec's
  base64 JSON;
- throughput: the same sentence from ``--concurrency`` clients through an engine with one URL
  and through one with two, against providers that take ``--work-ms`` per request and run one
  request at a time (``--concurrency 1`` on the provider, like one model on one GPU).

Prints one table. ``.venv/bin/python benchmarks/gateway_overhead.py [--requests 200]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
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
ADMIN = "vxadmin_benchmark"
TEXT = "The early train was quiet except for the rain against the windows."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tone_wav(seconds: float = 5.0, rate: int = 16000) -> bytes:
    import io

    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    wave = sum(0.2 / k * np.sin(2 * np.pi * 180 * k * t) for k in range(1, 5))
    buf = io.BytesIO()
    sf.write(buf, wave.astype("float32"), rate, format="WAV")
    return buf.getvalue()


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--work-ms", type=float, default=50.0, help="provider time per request")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        provider_engines = work / "provider-engines.toml"
        provider_engines.write_text(
            "[[engines]]\nname = 'fake'\ntype = 'python'\n"
            "target = 'voxclone.engines.fake:FakeEngine'\noptions = { sample_rate = 24000 }\n"
            "[[engines]]\nname = 'busy'\ntype = 'python'\n"
            "target = 'voxclone.engines.fake:FakeEngine'\n"
            f"options = {{ sample_rate = 24000, delay_s = {args.work_ms / 1000} }}\n"
        )
        procs: list[subprocess.Popen[bytes]] = []
        # The watermark is synthesis work, not routing: measure the gateway without it.
        env = {
            **os.environ,
            "VOXCLONE_LOG_LEVEL": "warning",
            "VOXCLONE_DATA_DIR": tmp,
            "VOXCLONE_WATERMARK__ENABLED": "false",
        }

        def start(cmd: list[str], port: int, extra: dict[str, str]) -> str:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "voxclone", *cmd, "--port", str(port)],
                    env={**env, **extra},
                    cwd=tmp,
                )
            )
            return f"http://127.0.0.1:{port}"

        try:
            pe = {"VOXCLONE_ENGINES_FILE": str(provider_engines)}
            fast = start(["provider", "serve", "--engine", "fake"], free_port(), pe)
            busy1 = start(["provider", "serve", "--engine", "busy"], free_port(), pe)
            busy2 = start(["provider", "serve", "--engine", "busy"], free_port(), pe)
            opts = "options = { model = 'fake', languages = ['en'], sample_rate = 24000 }"
            gateway_engines = work / "gateway-engines.toml"
            gateway_engines.write_text(
                f"[[engines]]\nname = 'direct'\ntype = 'provider'\nurls = ['{fast}']\n{opts}\n"
                f"[[engines]]\nname = 'json'\ntype = 'provider'\nurls = ['{fast}']\n"
                f"{opts[:-2]}, binary = false }}\n"
                f"[[engines]]\nname = 'one'\ntype = 'provider'\nurls = ['{busy1}']\n{opts}\n"
                f"[[engines]]\nname = 'two'\ntype = 'provider'\n"
                f"urls = ['{busy1}', '{busy2}']\n{opts}\n"
            )
            gateway = start(
                ["serve"],
                free_port(),
                {
                    "VOXCLONE_ENGINES_FILE": str(gateway_engines),
                    "VOXCLONE_ADMIN_KEY": ADMIN,
                    "VOXCLONE_DEFAULT_BACKEND": "direct",
                    "VOXCLONE_CACHE_ENABLED": "false",
                    "VOXCLONE_REMOTE__ALLOW_LOOPBACK_URLS": "true",
                    # The throughput run's clients share one key: let all of them in at once.
                    "VOXCLONE_LIMITS__MAX_CONCURRENT_HEAVY_PER_KEY": str(args.concurrency),
                },
            )
            for url, proc in zip((fast, busy1, busy2, gateway), procs, strict=True):
                wait_ready(url, proc)
            run(fast, gateway, args)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


def run(provider: str, gateway: str, args: argparse.Namespace) -> None:
    clip = tone_wav()
    with httpx.Client(timeout=60) as c:
        key = c.post(f"{gateway}/v1/keys", json={"label": "b"}, headers={"X-API-Key": ADMIN})
        user = {"Authorization": f"Bearer {key.json()['api_key']}"}
        voice = c.post(
            f"{gateway}/v1/voices",
            data={"name": "bench", "backend": "direct"},
            files={"ref_audio": ("ref.wav", clip)},
            headers=user,
        ).json()["voice_id"]
        prompt = c.post(
            f"{provider}/v1/create_voice_prompt", files={"audio": ("ref.wav", clip)}
        ).json()["voice_prompt"]
        direct_body = {"text": TEXT, "voice_prompt": prompt, "language": "en"}
        tts = f"{gateway}/v1/text-to-speech/{voice}"

        def direct() -> float:
            t = time.perf_counter()
            r = c.post(f"{provider}/v1/generate", json=direct_body)
            r.raise_for_status()
            return (time.perf_counter() - t) * 1000

        def through(backend: str = "direct") -> float:
            t = time.perf_counter()
            r = c.post(tts, json={"text": TEXT, "model_id": backend}, headers=user)
            ms = (time.perf_counter() - t) * 1000
            assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", r.text
            return ms

        for _ in range(20):  # warm up: connections, first loads
            direct(), through(), through("json")
        direct_ms: list[float] = []
        gateway_ms: list[float] = []
        json_ms: list[float] = []
        for _ in range(args.requests):
            direct_ms.append(direct())
            gateway_ms.append(through())
            json_ms.append(through("json"))

        for backend in ("one", "two"):  # prompts for these engines, and warm connections
            c.post(tts, json={"text": TEXT, "model_id": backend}, headers=user).raise_for_status()
        throughput = {b: load(tts, user, b, args) for b in ("one", "two")}

    added50 = statistics.median(gateway_ms) - statistics.median(direct_ms)
    added99 = pct(gateway_ms, 0.99) - pct(direct_ms, 0.99)
    print(f"{'measure':<58} {'p50':>9} {'p99':>9}")
    print(f"{f'provider directly, POST /v1/generate (n={args.requests})':<58} "
          f"{statistics.median(direct_ms):7.2f}ms {pct(direct_ms, 0.99):7.2f}ms")  # fmt: skip
    print(f"{f'through the gateway, POST /v1/text-to-speech (n={args.requests})':<58} "
          f"{statistics.median(gateway_ms):7.2f}ms {pct(gateway_ms, 0.99):7.2f}ms")  # fmt: skip
    verdict = "meets" if added50 <= 2 else "misses"
    print(f"{f'added by the gateway ({verdict} the 2 ms p50 target)':<58} "
          f"{added50:7.2f}ms {added99:7.2f}ms")  # fmt: skip
    json50 = statistics.median(json_ms) - statistics.median(direct_ms)
    json99 = pct(json_ms, 0.99) - pct(direct_ms, 0.99)
    print(f"{'added, gateway asking for the spec JSON (binary = false)':<58} "
          f"{json50:7.2f}ms {json99:7.2f}ms")  # fmt: skip
    one, two = throughput["one"], throughput["two"]
    label = f"throughput, {args.concurrency} clients, {args.work_ms:g} ms/request provider"
    print(f"{label + ', 1 URL':<58} {one:6.1f}/s")
    print(f"{label + ', 2 URLs':<58} {two:6.1f}/s  ({two / one:.2f}x)")


def load(url: str, user: dict[str, str], backend: str, args: argparse.Namespace) -> float:
    """Requests per second with ``args.concurrency`` clients sending ``args.requests``."""

    def worker(n: int) -> None:
        with httpx.Client(timeout=120) as c:
            for _ in range(n):
                r = c.post(url, json={"text": TEXT, "model_id": backend}, headers=user)
                assert r.status_code == 200 and r.headers["X-Backend"] == backend, r.text

    shares = [args.requests // args.concurrency] * args.concurrency
    for i in range(args.requests % args.concurrency):
        shares[i] += 1
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(worker, shares))
    return args.requests / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
