"""What a one-shot clone costs on the built-in engine: POST /api/v1/voice/synthesize on `local`.

    .venv/bin/python benchmarks/oneshot.py [--speakers 3]

In process (the app over httpx's ASGI transport, SQLite, a temporary data dir), for one 5-12 s
clip of each of ``--speakers`` speakers of ``../shared/eval/speech`` and one sentence:

- before: the request waits for Kokoro's fit (``oneshot_fit_wait_s`` = 600, what every call
  cost before prompts were kept);
- first call now: the nearest stock voice at once (``X-Voice-Prompt: nearest``), the fit going
  on in the background;
- how long until the fit lands (the first call answering ``cached``), and a cached call.

Also the speaker similarity (Resemblyzer cosine against the speaker's other clips) of the
nearest-voice and the fitted audio, so the quick answer's cost in likeness is visible. Prints
one table of medians over the speakers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech.evalset import EVAL, load_clips, read
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.core.types import Audio
from voxclone.engines import speaker
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

ADMIN = "vxadmin_oneshot-benchmark-0001"
TEXT = "The early train was quiet except for the rain against the windows."


def similarity(wav: bytes, targets: list[Audio]) -> float:
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    voice = speaker.embed(Audio(samples, rate))
    return float(np.mean([voice @ speaker.embed(t) for t in targets]))


async def measure(data: Path, clip: bytes, targets: list[Audio], wait_s: float) -> dict[str, float]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data,
        admin_key=ADMIN,
        default_backend="local",
        limits={"oneshot_fit_wait_s": wait_s},  # type: ignore[arg-type]
        watermark={"enabled": False},  # type: ignore[arg-type]
    )
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://b", timeout=600) as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers={"X-API-Key": ADMIN})).json()["api_key"]

        async def call() -> tuple[float, httpx.Response]:
            started = time.perf_counter()
            r = await c.post(
                "/api/v1/voice/synthesize",
                data={"text": TEXT, "language": "en"},
                files={"reference_audio": ("ref.wav", clip)},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 200, r.text
            return time.perf_counter() - started, r

        await c.post(  # load the engine and its fitting table outside the timings
            "/v1/audio/speech",
            json={"model": "local", "voice": "af_heart", "input": "Hi."},
            headers={"Authorization": f"Bearer {key}"},
        )
        first_s, first = await call()
        out = {"first_s": first_s, "first_sim": similarity(first.content, targets)}
        if first.headers["X-Voice-Prompt"] == "nearest":
            started = time.perf_counter()
            while True:
                await asyncio.sleep(1)
                took, again = await call()
                if again.headers["X-Voice-Prompt"] == "cached":
                    break
            out["landed_s"] = first_s + time.perf_counter() - started
            out["cached_s"] = took
            out["fitted_sim"] = similarity(again.content, targets)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speakers", type=int, default=3)
    args = parser.parse_args()
    clips = load_clips()
    speakers = sorted({c.speaker for c in clips})[: args.speakers]
    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    for who in speakers:
        own = [c for c in clips if c.speaker == who]
        ref = next((c for c in own if 5 <= c.duration_s <= 12), own[0])
        targets = [read(c.path) for c in own if c is not ref][:4]
        clip = (EVAL / ref.path).read_bytes()
        with tempfile.TemporaryDirectory() as tmp:
            before = asyncio.run(measure(Path(tmp), clip, targets, 600.0))
        with tempfile.TemporaryDirectory() as tmp:
            now = asyncio.run(measure(Path(tmp), clip, targets, 0.0))
        rows.append((who, before, now))
        print(who, before, now, flush=True)

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}"

    print(f"\none-shot on `local`, median over {len(rows)} speakers")
    print(f"{'measure':<52} {'value':>8}")
    print(f"{'before: first call, waiting for the fit (s)':<52} "
          f"{med([b['first_s'] for _, b, _ in rows]):>8}")  # fmt: skip
    print(f"{'now: first call, nearest voice (s)':<52} "
          f"{med([n['first_s'] for _, _, n in rows]):>8}")  # fmt: skip
    print(f"{'now: fit landed after (s)':<52} {med([n['landed_s'] for _, _, n in rows]):>8}")
    print(f"{'now: the same clip again, cached (s)':<52} "
          f"{med([n['cached_s'] for _, _, n in rows]):>8}")  # fmt: skip
    print(f"{'similarity, nearest voice (Resemblyzer)':<52} "
          f"{med([n['first_sim'] for _, _, n in rows]):>8}")  # fmt: skip
    print(f"{'similarity, fitted (Resemblyzer)':<52} "
          f"{med([n['fitted_sim'] for _, _, n in rows]):>8}")  # fmt: skip


if __name__ == "__main__":
    main()
