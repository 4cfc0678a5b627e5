"""Cache hits on two servers in turns: this checkout against another revision's, so that a
change to the hit path is measured under the same load on both (the machine is shared).

    git worktree add /tmp/old <revision>
    .venv/bin/python benchmarks/cache_hit_ab.py --old-src /tmp/old/src [--hits 400]

Each server gets a key and a Piper voice, caches one sentence, then both answer
POST /v1/synthesize for it in turns (30 warm-up rounds). This checkout's key has a quota and a
rate limit, so its admit step checks both on every request. Prints p50 and mean of each and
the difference of the p50s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import ADMIN, SENTENCES, free_port, reference

REPO = Path(__file__).resolve().parents[1]


def start(src: Path, data: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "VOXCLONE_DATA_DIR": data,
        "VOXCLONE_ADMIN_KEY": ADMIN,
        "VOXCLONE_DEFAULT_BACKEND": "piper",
        "VOXCLONE_LOG_LEVEL": "warning",
        "PYTHONPATH": str(src),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "voxclone", "serve", "--port", str(port)], env=env, cwd=data
    )
    return server, f"http://127.0.0.1:{port}"


def prepare(c: httpx.Client, limits: dict[str, int]) -> tuple[dict[str, str], dict[str, str]]:
    deadline = time.monotonic() + 60
    while True:
        try:
            if c.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{c.base_url} did not start")
        time.sleep(0.2)
    key = c.post("/v1/keys", json={"label": "ab", **limits}, headers={"X-API-Key": ADMIN}).json()
    user = {"Authorization": f"Bearer {key['api_key']}"}
    clip = reference()
    voice = c.post(
        "/v1/voices",
        data={"name": "ab", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes())},
        headers=user,
    ).json()["voice_id"]
    c.post(f"/v1/text-to-speech/{voice}", json={"text": SENTENCES[0]}, headers=user)
    return {"voice_id": voice, "text": SENTENCES[0]}, user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old-src", type=Path, required=True, help="another revision's src/")
    parser.add_argument("--hits", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as old_dir, tempfile.TemporaryDirectory() as new_dir:
        old, old_url = start(args.old_src, old_dir)
        new, new_url = start(REPO / "src", new_dir)
        try:
            with (
                httpx.Client(base_url=old_url, timeout=60) as co,
                httpx.Client(base_url=new_url, timeout=60) as cn,
            ):
                sides = {
                    "other revision": (co, *prepare(co, {})),
                    "this checkout": (
                        cn,
                        *prepare(cn, {"rate_limit_per_minute": 10**9, "monthly_char_quota": 10**9}),
                    ),
                }
                timings: dict[str, list[float]] = {name: [] for name in sides}
                for i in range(args.hits + 30):
                    for name, (c, body, user) in sides.items():
                        t = time.perf_counter()
                        r = c.post("/v1/synthesize", json=body, headers=user)
                        if i >= 30:
                            timings[name].append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", r.text
        finally:
            for server in (old, new):
                server.terminate()
                server.wait(timeout=30)
    print(f"{'cache hit, POST /v1/synthesize':<40} {'p50 ms':>8} {'mean ms':>8}")
    for name, values in timings.items():
        print(f"{name:<40} {statistics.median(values):8.2f} {statistics.fmean(values):8.2f}")
    delta = statistics.median(timings["this checkout"]) - statistics.median(
        timings["other revision"]
    )
    print(f"{'difference of the p50s':<40} {delta:+8.2f}")


if __name__ == "__main__":
    main()
