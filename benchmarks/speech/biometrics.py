"""Voice biometrics: equal-error rate and threshold of verification, and its latency.

Every clip of ``../shared/eval/speech/manifest.csv`` is embedded as the service embeds an
upload (Silero VAD keeps the speech, Resemblyzer embeds it; clips with under
``biometrics.min_speech_s`` of speech are refused by the service and left out here too). Then:

- 1-clip enrollment: each clip's embedding is a print, scored against every other clip
  (target when the speaker is the same, non-target otherwise);
- 2-clip enrollment: for speakers with at least three clips, disjoint pairs of clips make a
  print (mean weighted by seconds of speech, as the service does), scored against every clip
  not in the pair;
- 2 s windows: the first 2 s of each clip's speech against the other clips' 1-clip prints
  (what a biometrics job scores), to see whether the same threshold holds for short speech.

The EER is where false rejects equal false accepts; the threshold there (1-clip enrollment,
rounded to two decimals) is voxclone's default ``biometrics.threshold``. Latency: the median
of 20 ``BiometricsService.verify`` calls on a 5.1 s clip, in process, and of 20
``POST /v1/speakers/{id}/verify`` through the app (httpx's ASGI transport, no socket).

    .venv/bin/python benchmarks/speech_services.py --only biometrics
    .venv/bin/python benchmarks/speech/biometrics.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from speech.evalset import EVAL, Clip, equal_error_rate, load_clips, read
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.core.errors import InsufficientSpeech
from voxclone.engines.speaker import ResemblyzerEmbedder
from voxclone.engines.vad import default_vad
from voxclone.services import voiceprints
from voxclone.services.container import build_services

VERIFY_CLIP = "librispeech_test-other/1688/1688-142285-0003.flac"  # 5.1 s
ENROLL_CLIP = "librispeech_test-other/1688/1688-142285-0004.flac"
WINDOW_S = 2.0
REPEATS = 20


def _prints(
    clips: list[Clip], min_speech_s: float
) -> tuple[dict[str, voiceprints.SpeechPrint], dict[str, np.ndarray], list[str]]:
    embedder, vad = ResemblyzerEmbedder(), default_vad()
    prints: dict[str, voiceprints.SpeechPrint] = {}
    windows: dict[str, np.ndarray] = {}
    refused = []
    for clip in clips:
        audio = read(clip.path)
        try:
            prints[clip.path] = voiceprints.embed_speech(
                audio, embedder=embedder, vad=vad, min_speech_s=min_speech_s
            )
        except InsufficientSpeech:
            refused.append(clip.path)
            continue
        speech = voiceprints.cut_speech(audio, vad.segments(audio))
        if speech.duration_s >= WINDOW_S + 0.5:
            windows[clip.path] = embedder.embed(voiceprints.clip(speech, 0.0, WINDOW_S))
    return prints, windows, refused


def _one_clip(clips: list[Clip], prints: dict[str, voiceprints.SpeechPrint]):
    same, other = [], []
    for a, b in combinations(clips, 2):
        score = float(prints[a.path].vector @ prints[b.path].vector)
        (same if a.speaker == b.speaker else other).append(score)
    return same, other


def _two_clips(clips: list[Clip], prints: dict[str, voiceprints.SpeechPrint]):
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    same, other = [], []
    for group in by_speaker.values():
        if len(group) < 3:
            continue
        for i in range(0, len(group) - 1, 2):
            pair = group[i : i + 2]
            enrolled = voiceprints.combine(
                [prints[c.path].vector for c in pair], [prints[c.path].speech_s for c in pair]
            )
            for test in clips:
                if test not in pair:
                    score = float(enrolled @ prints[test.path].vector)
                    (same if test.speaker == pair[0].speaker else other).append(score)
    return same, other


def _windows(clips: list[Clip], prints, windows):
    same, other = [], []
    for clip in clips:
        if clip.path not in windows:
            continue
        for enrolled in clips:
            if enrolled is not clip:
                score = float(prints[enrolled.path].vector @ windows[clip.path])
                (same if enrolled.speaker == clip.speaker else other).append(score)
    return same, other


async def _latency() -> tuple[float, float]:
    """Median ms of verify in process and over HTTP (ASGI), on a fresh SQLite data dir."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, env="test", data_dir=Path(tmp), admin_key="vxadmin_bench-key-123456"
        )
        services = build_services(settings)
        app = create_app(services=services)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                admin = {"Authorization": "Bearer vxadmin_bench-key-123456"}
                key = (await client.post("/v1/keys", json={"label": "bench"}, headers=admin)).json()
                user = {"Authorization": f"Bearer {key['api_key']}"}
                enroll = (EVAL / ENROLL_CLIP).read_bytes()
                audio = (EVAL / VERIFY_CLIP).read_bytes()
                speaker = await services.biometrics.create_speaker(
                    key_id=key["key_id"], name="bench", audio=enroll
                )
                await services.biometrics.verify(
                    key_id=key["key_id"], speaker_id=speaker.id, audio=audio
                )  # warm up
                direct = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    await services.biometrics.verify(
                        key_id=key["key_id"], speaker_id=speaker.id, audio=audio
                    )
                    direct.append((time.perf_counter() - started) * 1000)
                http = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    r = await client.post(
                        f"/v1/speakers/{speaker.id}/verify",
                        files={"audio": ("clip.flac", audio, "audio/flac")},
                        headers=user,
                    )
                    http.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, r.text
    return statistics.median(direct), statistics.median(http)


def measure() -> list[dict[str, object]]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    clips = load_clips()
    prints, windows, refused = _prints(clips, settings.biometrics.min_speech_s)
    kept = [c for c in clips if c.path in prints]
    speakers = len({c.speaker for c in kept})
    rows: list[dict[str, object]] = []

    def add(metric: str, same: list[float], other: list[float], what: str) -> float:
        eer, threshold = equal_error_rate(same, other)
        detail = (
            f"{what}; {len(same)} target / {len(other)} non-target scores; target mean "
            f"{statistics.mean(same):.3f} (min {min(same):.3f}), non-target mean "
            f"{statistics.mean(other):.3f} (max {max(other):.3f})"
        )
        rows.append({"service": "biometrics", "metric": metric, "value": eer, "detail": detail})
        rows.append(
            {
                "service": "biometrics",
                "metric": f"{metric} threshold",
                "value": threshold,
                "detail": f"cosine score at the EER ({what})",
            }
        )
        return threshold

    scope = f"{len(kept)} clips of {speakers} speakers ({len(refused)} refused: under 1 s speech)"
    add("EER", *_one_clip(kept, prints), f"1-clip enrollment, {scope}")
    add("EER 2-clip enrollment", *_two_clips(kept, prints), "2-clip prints vs the other clips")
    same, other = _windows(kept, prints, windows)
    add("EER 2 s windows", same, other, "2 s of speech vs 1-clip prints")
    default = settings.biometrics.threshold
    rows.append(
        {
            "service": "biometrics",
            "metric": "2 s windows FRR at default",
            "value": float(np.mean(np.asarray(same) < default)),
            "detail": f"false rejects of 2 s windows at biometrics.threshold {default:g} "
            f"(false accepts: {float(np.mean(np.asarray(other) >= default)):.2%})",
        }
    )
    direct_ms, http_ms = asyncio.run(_latency())
    rows.append(
        {
            "service": "biometrics",
            "metric": "verify latency (ms)",
            "value": direct_ms,
            "detail": f"median of {REPEATS}, in process, 5.1 s FLAC: decode + VAD + embed + score",
        }
    )
    rows.append(
        {
            "service": "biometrics",
            "metric": "verify latency HTTP (ms)",
            "value": http_ms,
            "detail": f"median of {REPEATS}, POST /v1/speakers/{{id}}/verify via ASGI (no socket)",
        }
    )
    return rows


if __name__ == "__main__":
    for row in measure():
        value = row["value"]
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{row['metric']!s:<28} {shown:>10}  {row['detail']}")
