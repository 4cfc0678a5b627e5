"""voxclone beside what a user would otherwise run: raw kokoro-onnx, the engine, the API, Piper.

    .venv/bin/python benchmarks/peers.py [--runs 3] [--data-dir data]

In one run and one process tree, the same text (three sentences, a different last word each
run so that the API's cache never answers) is spoken by:

- ``kokoro-onnx``: the package as its README uses it (``Kokoro(model, voices).create``; first
  audio from its ``create_stream``), on the same int8 model file and voice ``af_heart``;
- ``local``: voxclone's Kokoro engine in process (its defaults: rewritten graph, fused
  operators, sentence chunks);
- ``api`` / ``api-stream``: ``POST /v1/audio/speech`` (PCM) of a ``voxclone serve`` on loopback,
  whole and with ``"stream": true`` (the server's CPU and memory are what count);
- ``piper``: voxclone's Piper engine (another voice and model: the fast option, for scale).

Each in-process contender runs in a fresh child process (its peak RSS is that child's); the
server is one child shared by both API rows. Prints RTF, first audio, CPU seconds per audio
second and peak RSS, each also as a ratio to raw kokoro-onnx (medians of ``--runs``, after one
warm-up). The machine may be shared: wall-clock figures swing with other load, CPU less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
VOICES = SHARED / "models" / "kokoro" / "voices-v1.0.npz"
TEXT = (
    "Welcome to the weekly update from the engineering team. This week we finished the new "
    "storage layer and moved every service onto it. The migration took two nights, and "
    "nobody noticed any downtime on run {n}."
)
ADMIN = "vxadmin_peers"
RATE = 24000


def texts(runs: int) -> list[str]:
    return [TEXT.format(n=n) for n in range(runs + 1)]  # the first is the warm-up


def measure(speak: Any, runs: int) -> list[dict[str, float]]:
    """``speak(text)`` yields sample counts as audio arrives; one timing per text."""
    out = []
    for text in texts(runs):
        started, cpu = time.perf_counter(), time.process_time()
        first, samples = None, 0
        for n in speak(text):
            first = first if first is not None else time.perf_counter() - started
            samples += n
        out.append(
            {
                "seconds": time.perf_counter() - started,
                "cpu_s": time.process_time() - cpu,
                "first_s": first or 0.0,
                "audio_s": samples / RATE,
            }
        )
    return out[1:]


def child(name: str, runs: int, data_dir: Path) -> list[dict[str, float]]:
    """One in-process contender's timings (runs in a child process of its own)."""
    if name == "kokoro-onnx":
        from kokoro_onnx import Kokoro

        from voxclone.engines.kokoro_assets import resolve_model

        kokoro = Kokoro(str(resolve_model(None, data_dir)), str(VOICES))
        whole = measure(
            lambda text: [len(kokoro.create(text, voice="af_heart", lang="en-us")[0])], runs
        )

        def stream(text: str) -> list[int]:
            async def first() -> list[int]:
                sizes = []
                async for samples, _rate in kokoro.create_stream(text, "af_heart", lang="en-us"):
                    sizes.append(len(samples))
                    break  # the first chunk is what is timed here
                return sizes

            return asyncio.run(first())

        firsts = measure(stream, runs)
        for run, streamed in zip(whole, firsts, strict=True):
            run["first_s"] = streamed["seconds"]
        return whole
    from voxclone.engines.base import SynthesisParams

    engine: Any
    if name == "local":
        from voxclone.engines.kokoro import KokoroEngine

        engine = KokoroEngine("local", data_dir=data_dir, fit=False)
    else:
        from voxclone.engines.piper import PiperEngine

        engine = PiperEngine("piper")
    params = SynthesisParams(language="en")
    rate = engine.capabilities().sample_rate
    return measure(
        lambda text: (
            chunk.samples.size * RATE // rate for chunk in engine.synthesize(text, {}, params)
        ),
        runs,
    )


def run_child(name: str, runs: int, data_dir: Path) -> tuple[list[dict[str, float]], float]:
    """A contender's timings and its process's peak RSS in MB."""
    command = [sys.executable, __file__, "--child", name, "--runs", str(runs)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    output = process.stdout.read() if process.stdout else ""
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api(runs: int, data_dir: Path) -> tuple[dict[str, list[dict[str, float]]], float]:
    """Both API rows' timings and the server's peak RSS in MB."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with tempfile.TemporaryDirectory() as data:
        for shared in ("models", "native"):  # the joined and rewritten graphs, the library
            if (data_dir / shared).is_dir():
                (Path(data) / shared).symlink_to((data_dir / shared).resolve())
        env = {
            **os.environ,
            "VOXCLONE_DATA_DIR": data,
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--port", str(port)], env=env, cwd=data
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=120) as c:
                for _ in range(300):
                    try:
                        if c.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.2)
                key = c.post("/v1/keys", json={"label": "peers"}, headers={"X-API-Key": ADMIN})
                user = {"Authorization": f"Bearer {key.json()['api_key']}"}
                rows = {}
                for label, stream in (("api", False), ("api-stream", True)):
                    rows[label] = []
                    for n, text in enumerate(texts(runs)):
                        body = {
                            "model": "local",
                            "voice": "af_heart",
                            "input": f"{text} ({label})",
                            "response_format": "pcm",
                            "stream": stream,
                        }
                        cpu, started = cpu_seconds(server.pid), time.perf_counter()
                        first, size = None, 0
                        with c.stream("POST", "/v1/audio/speech", json=body, headers=user) as r:
                            if r.status_code != 200:
                                raise SystemExit(f"{label}: {r.status_code} {r.read()!r}")
                            for piece in r.iter_raw():
                                if piece and first is None:
                                    first = time.perf_counter() - started
                                size += len(piece)
                        if n:  # the first is the warm-up
                            rows[label].append(
                                {
                                    "seconds": time.perf_counter() - started,
                                    "cpu_s": cpu_seconds(server.pid) - cpu,
                                    "first_s": first or 0.0,
                                    "audio_s": size / 2 / RATE,  # 16-bit PCM at 24 kHz
                                }
                            )
        finally:
            server.terminate()
            _pid, _status, usage = os.wait4(server.pid, 0)
    return rows, usage.ru_maxrss / 1024


def summary(timings: list[dict[str, float]], rss_mb: float) -> dict[str, float]:
    return {
        "rtf": statistics.median(t["seconds"] / t["audio_s"] for t in timings),
        "first_s": statistics.median(t["first_s"] for t in timings),
        "cpu_per_s": statistics.median(t["cpu_s"] / t["audio_s"] for t in timings),
        "rss_mb": rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.runs, args.data_dir)))
        return
    rows: dict[str, dict[str, float]] = {}
    for name in ("kokoro-onnx", "local"):
        rows[name] = summary(*run_child(name, args.runs, args.data_dir))
    served, server_rss = api(args.runs, args.data_dir)
    for label, timings in served.items():
        rows[label] = summary(timings, server_rss)
    rows["piper"] = summary(*run_child("piper", args.runs, args.data_dir))
    base = rows["kokoro-onnx"]
    print(
        f"Peers side by side: medians over {args.runs} runs, {os.cpu_count()} CPU cores visible; "
        "(×) = ratio to raw kokoro-onnx"
    )
    header = f"{'contender':<12} {'RTF':>13} {'first audio s':>15} {'CPU s/audio s':>15} "
    print(header + f"{'peak RSS MB':>15}")
    print("-" * (len(header) + 15))
    for name, row in rows.items():
        cells = [
            f"{row[k]:>{w}.{p}f} ({row[k] / base[k]:.2f}×)"
            for k, w, p in (("rtf", 5, 3), ("first_s", 7, 2), ("cpu_per_s", 7, 2), ("rss_mb", 6, 0))
        ]
        print(f"{name:<12} " + " ".join(f"{c:>15}" for c in cells))
    print("api rows: the server's CPU and peak RSS (one server for both; SQLite, local disk)")


if __name__ == "__main__":
    main()
