"""Joining audio chunks: sentence-by-sentence synthesis stitched back together without clicks."""

from __future__ import annotations

import numpy as np

from voxclone.core.types import Audio, FloatArray


def concat_with_crossfade(
    parts: list[Audio], *, gap_s: float = 0.0, fade_ms: float = 10.0
) -> Audio:
    """Join ``parts`` end to end, smoothing each seam so that no click is heard.

    With ``gap_s == 0`` each seam is a linear crossfade of ``fade_ms``: the two chunks overlap
    by that much, so the result is shorter than the sum of the parts by one fade per seam.
    With ``gap_s > 0`` the left chunk fades out, ``gap_s`` of silence follows, and the right
    chunk fades in. Fades are shortened to fit chunks shorter than ``fade_ms``; empty parts
    are skipped; the outer ends of the result are left untouched. A crossfade of two signals
    within [-1, 1] stays within [-1, 1].
    """
    if not parts:
        raise ValueError("cannot join zero audio parts")
    rate = parts[0].sample_rate
    rates = sorted({part.sample_rate for part in parts})
    if len(rates) > 1:
        raise ValueError(f"cannot join audio of different sample rates: {rates}")
    if gap_s < 0:
        raise ValueError(f"gap_s must not be negative, got {gap_s}")
    if fade_ms < 0:
        raise ValueError(f"fade_ms must not be negative, got {fade_ms}")

    fade = round(fade_ms * rate / 1000)
    gap = round(gap_s * rate)
    chunks = [part.samples.copy() for part in parts if part.samples.size]
    if not chunks:
        return Audio(np.zeros(0, dtype=np.float32), rate)

    joined: list[FloatArray] = [chunks[0]]
    for right in chunks[1:]:
        left = joined[-1]
        if gap:
            _fade_out(left, min(fade, left.size))
            _fade_in(right, min(fade, right.size))
            joined.append(np.zeros(gap, dtype=np.float32))
            joined.append(right)
            continue
        overlap = min(fade, left.size, right.size)
        if overlap:
            _fade_out(left, overlap)
            _fade_in(right, overlap)
            left[-overlap:] += right[:overlap]
        if right.size > overlap:  # a chunk no longer than the fade is wholly inside the seam
            joined.append(right[overlap:])
    return Audio(np.concatenate(joined).astype(np.float32, copy=False), rate)


def fade_ends(audio: Audio, *, fade_in: bool, fade_out: bool, fade_ms: float = 5.0) -> Audio:
    """A copy of ``audio`` faded in at its start and/or out at its end over ``fade_ms`` (less
    for a chunk shorter than two fades): the seams of chunks sent one after the other, unjoined."""
    if fade_ms < 0:
        raise ValueError(f"fade_ms must not be negative, got {fade_ms}")
    samples = audio.samples.copy()
    length = min(round(fade_ms * audio.sample_rate / 1000), samples.size // 2)
    if fade_in:
        _fade_in(samples, length)
    if fade_out:
        _fade_out(samples, length)
    return Audio(samples, audio.sample_rate)


def _ramp_up(length: int) -> FloatArray:
    """Gains rising from near 0 to near 1; ``ramp + ramp[::-1] == 1`` element by element."""
    return ((np.arange(length, dtype=np.float32) + 0.5) / length).astype(np.float32)


def _fade_in(samples: FloatArray, length: int) -> None:
    if length:
        samples[:length] *= _ramp_up(length)


def _fade_out(samples: FloatArray, length: int) -> None:
    if length:
        samples[-length:] *= _ramp_up(length)[::-1]
