"""Clean speech, noise at a chosen SNR, and the two measures the denoise tests assert on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soundfile as sf

from tests.conftest import EVAL_SPEECH

CLEAN_CLIP = EVAL_SPEECH / "vctk" / "p225" / "p225_003.wav"
"""A clean studio recording (VCTK, 16 kHz), so noise added to it is the only noise."""


def clean_speech(seconds: float = 4.0) -> tuple[npt.NDArray[np.float32], int]:
    samples, rate = sf.read(CLEAN_CLIP, dtype="float32")
    return samples[: int(seconds * rate)], int(rate)


def with_white_noise(
    clean: npt.NDArray[np.float32], snr_db: float, seed: int = 0
) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(clean.size)
    power = float(np.mean(np.square(clean, dtype=np.float64)))
    noise *= np.sqrt(power / np.mean(noise**2)) / 10 ** (snr_db / 20)
    return (clean + noise).astype(np.float32)


def snr_db(reference: npt.NDArray[np.float32], estimate: npt.NDArray[np.float32]) -> float:
    ref = reference.astype(np.float64)
    error = estimate.astype(np.float64) - ref
    return float(10 * np.log10(np.sum(ref**2) / np.sum(error**2)))


def si_sdr_db(reference: npt.NDArray[np.float32], estimate: npt.NDArray[np.float32]) -> float:
    ref = reference.astype(np.float64)
    est = estimate.astype(np.float64)
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


def wav_bytes(samples: npt.NDArray[np.float32], rate: int, fmt: str = "WAV") -> bytes:
    import io

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt)
    return buffer.getvalue()
