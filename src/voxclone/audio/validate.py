"""Checks on decoded audio: duration limits and level measurements in dBFS."""

from __future__ import annotations

import math

import numpy as np

from voxclone.core.errors import AudioDurationOutOfRange
from voxclone.core.types import Audio


def check_duration(audio: Audio, *, min_s: float, max_s: float, what: str = "audio") -> None:
    """Raise AudioDurationOutOfRange unless ``min_s <= audio.duration_s <= max_s``.

    ``what`` names the audio in the message, e.g. "reference audio is 0.5 s long; it must be
    between 3 and 60 s".
    """
    duration = audio.duration_s
    if min_s <= duration <= max_s:
        return
    raise AudioDurationOutOfRange(
        f"{what} is {_seconds(duration)} s long; "
        f"it must be between {_seconds(min_s)} and {_seconds(max_s)} s",
        duration_s=round(duration, 3),
        min_s=min_s,
        max_s=max_s,
    )


def peak_dbfs(audio: Audio) -> float:
    """The largest absolute sample in dB relative to full scale; -inf for digital silence."""
    if audio.samples.size == 0:
        return -math.inf
    return _dbfs(float(np.max(np.abs(audio.samples))))


def rms_dbfs(audio: Audio) -> float:
    """The root-mean-square level in dB relative to full scale; -inf for digital silence.

    A full-scale sine measures about -3 dBFS (this is not the AES-17 convention, which adds 3 dB).
    """
    if audio.samples.size == 0:
        return -math.inf
    mean_square = float(np.mean(np.square(audio.samples, dtype=np.float64)))
    return _dbfs(math.sqrt(mean_square))


def is_silent(audio: Audio, threshold_dbfs: float = -60.0) -> bool:
    """Whether the RMS level is below ``threshold_dbfs`` (a lone click does not count as sound)."""
    return rms_dbfs(audio) < threshold_dbfs


def _dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0.0 else -math.inf


def _seconds(value: float) -> str:
    """0.5 -> "0.5", 3.0 -> "3", 12.625 -> "12.63"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
