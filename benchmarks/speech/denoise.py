"""Noise suppression: how much DeepFilterNet3 (the ``deepfilternet`` engine) cleans speech, and
how fast.

Clean eval clips of ``../shared/eval/speech`` (two per speaker, at most 6 s each, at their own
rate) are mixed with noise at 0, 5 and 10 dB SNR over the whole clip:

- white: Gaussian white noise (seeded);
- babble: the sum of four clips of *other* speakers, each brought to the same level first, cut
  or repeated to the clip's length, then scaled to the SNR.

Each mixture is denoised by the engine as voxclone builds it from default settings (no
attenuation limit, no post-filter), and the output is scored against the clean clip: SNR
(the error is everything that is not the clean clip) and SI-SDR (scale-invariant). Rows give
the mean improvement over the noisy input in dB. The real-time factor is processing time over
audio duration across every run (each run includes creating a fresh model state, as a request
does); the time to create one state is reported on its own.

    .venv/bin/python benchmarks/speech_services.py --only denoise
    .venv/bin/python benchmarks/speech/denoise.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from speech.evalset import Clip, load_clips, read
from voxclone.audio import resample
from voxclone.config import Settings
from voxclone.core.types import Audio
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry

SNRS_DB = (0.0, 5.0, 10.0)
CLIPS_PER_SPEAKER = 2
MAX_CLIP_S = 6.0
BABBLE_TALKERS = 4
Samples = npt.NDArray[np.float32]


def snr_db(reference: Samples, estimate: Samples) -> float:
    ref = reference.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / np.sum((estimate.astype(np.float64) - ref) ** 2)))


def si_sdr_db(reference: Samples, estimate: Samples) -> float:
    ref = reference.astype(np.float64)
    est = estimate.astype(np.float64)
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def _power(samples: npt.NDArray[np.float64]) -> float:
    return float(np.mean(samples.astype(np.float64) ** 2))


def _fit_length(samples: Samples, n: int) -> Samples:
    reps = -(-n // samples.size)
    return np.tile(samples, reps)[:n]


def white_noise(clean: Samples, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    return rng.standard_normal(clean.size)


def babble_noise(
    clean: Audio, others: list[Clip], rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    picks = rng.choice(len(others), size=BABBLE_TALKERS, replace=False)
    total = np.zeros(clean.samples.size, dtype=np.float64)
    for index in picks:
        talker = resample(read(others[index].path), clean.sample_rate).samples
        start = int(rng.integers(0, max(1, talker.size - clean.samples.size)))
        part = _fit_length(talker[start:], clean.samples.size).astype(np.float64)
        total += part / np.sqrt(_power(part) + 1e-12)
    return total


def mix(clean: Samples, noise: npt.NDArray[np.float64], snr: float) -> Samples:
    scale = np.sqrt(_power(clean) / _power(noise)) / 10 ** (snr / 20)
    return (clean + scale * noise).astype(np.float32)


def pick_clips() -> list[Clip]:
    by_speaker: dict[str, list[Clip]] = defaultdict(list)
    for clip in load_clips():
        if len(by_speaker[clip.speaker]) < CLIPS_PER_SPEAKER and clip.duration_s >= 2.0:
            by_speaker[clip.speaker].append(clip)
    return [clip for clips in by_speaker.values() for clip in clips]


def measure() -> list[dict[str, object]]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    registry = EngineRegistry(builtin_specs(settings))
    engine = registry.get_denoiser("deepfilternet")
    clips = pick_clips()
    everyone = load_clips()
    rng = np.random.default_rng(20261122)
    gains: dict[tuple[str, float], dict[str, list[float]]] = defaultdict(
        lambda: {"snr": [], "si_sdr": [], "out_si_sdr": []}
    )
    busy_s = audio_s = 0.0
    passthrough: list[float] = []
    for clip in clips:
        audio = read(clip.path)
        clean = audio.samples[: int(MAX_CLIP_S * audio.sample_rate)]
        clean_audio = Audio(np.ascontiguousarray(clean), audio.sample_rate)
        others = [c for c in everyone if c.speaker != clip.speaker]
        passthrough.append(si_sdr_db(clean, engine.denoise(clean_audio).samples))
        for kind in ("white", "babble"):
            for snr in SNRS_DB:
                noise = (
                    white_noise(clean, rng)
                    if kind == "white"
                    else babble_noise(clean_audio, others, rng)
                )
                noisy = mix(clean, noise, snr)
                started = time.perf_counter()
                out = engine.denoise(Audio(noisy, audio.sample_rate)).samples
                busy_s += time.perf_counter() - started
                audio_s += clean.size / audio.sample_rate
                row = gains[(kind, snr)]
                row["snr"].append(snr_db(clean, out) - snr_db(clean, noisy))
                row["si_sdr"].append(si_sdr_db(clean, out) - si_sdr_db(clean, noisy))
                row["out_si_sdr"].append(si_sdr_db(clean, out))
    create_s = []
    for _ in range(5):
        started = time.perf_counter()
        engine.open_stream(48000).close()
        create_s.append(time.perf_counter() - started)
    registry.close()

    n = len(clips)
    rows: list[dict[str, object]] = []
    for (kind, snr), values in gains.items():
        detail = (
            f"{kind} noise at {snr:g} dB input SNR, {n} clips; output SI-SDR "
            f"{statistics.mean(values['out_si_sdr']):.1f} dB"
        )
        rows.append(
            {
                "service": "denoise",
                "metric": f"snr_gain_db_{kind}_{snr:g}db",
                "value": statistics.mean(values["snr"]),
                "detail": detail,
            }
        )
        rows.append(
            {
                "service": "denoise",
                "metric": f"si_sdr_gain_db_{kind}_{snr:g}db",
                "value": statistics.mean(values["si_sdr"]),
                "detail": f"{kind} noise at {snr:g} dB input SNR, {n} clips",
            }
        )
    rows.append(
        {
            "service": "denoise",
            "metric": "clean_passthrough_si_sdr_db",
            "value": statistics.mean(passthrough),
            "detail": f"clean clips in, SI-SDR of the output vs the input ({n} clips)",
        }
    )
    rows.append(
        {
            "service": "denoise",
            "metric": "rtf",
            "value": busy_s / audio_s,
            "detail": f"{audio_s:.0f} s of audio, one call per clip incl. state creation, "
            f"{os.cpu_count()} CPUs",
        }
    )
    rows.append(
        {
            "service": "denoise",
            "metric": "state_create_s",
            "value": statistics.median(create_s),
            "detail": "median of 5: a fresh model state per stream or request",
        }
    )
    return rows


if __name__ == "__main__":
    for row in measure():
        value = row["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{row['metric']:<30} {shown:>8}  {row['detail']}")
