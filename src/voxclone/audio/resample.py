"""Sample-rate conversion with soxr."""

from __future__ import annotations

import numpy as np
import soxr

from voxclone.core.types import Audio


def resample(audio: Audio, rate: int) -> Audio:
    """Return ``audio`` at ``rate`` Hz (soxr, high quality); the same object if it already is.

    The result is clipped to [-1, 1]: band-limiting a full-scale signal can overshoot slightly.
    """
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    if rate == audio.sample_rate:
        return audio
    converted = soxr.resample(
        np.ascontiguousarray(audio.samples), audio.sample_rate, rate, quality="HQ"
    )
    samples = np.clip(np.asarray(converted, dtype=np.float32), -1.0, 1.0)
    return Audio(samples, rate)
