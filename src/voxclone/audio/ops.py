"""Editing operations on audio: pure functions from ``Audio`` to ``Audio``.

Each operation returns a new buffer and leaves its input untouched. Nothing here knows about
sources, storage or the VAD: ``trim_silence`` takes the speech spans a detector found. A value
out of range is a ValueError that shows it; callers translate it into their own errors.

Speed and pitch use Rubber Band (through ``pedalboard.time_stretch``) with formants preserved,
so a slower voice keeps its pitch and a higher voice does not turn into a cartoon
(docs/decisions.md, "Audio editing"). Loudness is ITU-R BS.1770 integrated loudness, measured
with ``pyloudnorm``. Both libraries are imported on first use.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from voxclone.audio.edit import concat_with_crossfade
from voxclone.audio.resample import resample as _resample
from voxclone.core.types import Audio, FloatArray

LOUDNESS_BLOCK_S = 0.4
"""BS.1770's gating block: shorter audio has no integrated loudness."""
JOIN_FADE_MS = 5.0
"""Crossfade where ``trim_silence`` cuts a long pause out of the middle of speech."""


def trim(audio: Audio, *, start_s: float = 0.0, end_s: float | None = None) -> Audio:
    """The part of ``audio`` from ``start_s`` to ``end_s`` (the end when None or past it)."""
    if start_s < 0:
        raise ValueError(f"start_s must not be negative, got {start_s}")
    if end_s is not None and end_s <= start_s:
        raise ValueError(f"end_s ({end_s}) must be after start_s ({start_s})")
    if start_s >= audio.duration_s:
        raise ValueError(
            f"start_s ({start_s}) is not before the end of the audio ({audio.duration_s:.3f} s)"
        )
    first = round(start_s * audio.sample_rate)
    last = audio.samples.size if end_s is None else round(end_s * audio.sample_rate)
    return Audio(audio.samples[first:last].copy(), audio.sample_rate)


def trim_silence(
    audio: Audio,
    speech: Sequence[tuple[float, float]],
    *,
    pad_s: float = 0.05,
    max_pause_s: float | None = None,
) -> Audio:
    """``audio`` without the silence before the first and after the last span of ``speech``
    ((start_s, end_s) pairs in order, from a VAD), keeping ``pad_s`` of it at each end.

    With ``max_pause_s``, pauses between spans longer than that are shortened to it (the cut
    is crossfaded over ``JOIN_FADE_MS``). Audio with no speech at all is a ValueError.
    """
    if pad_s < 0:
        raise ValueError(f"pad_s must not be negative, got {pad_s}")
    if max_pause_s is not None and max_pause_s <= 0:
        raise ValueError(f"max_pause_s must be positive, got {max_pause_s}")
    if not speech:
        raise ValueError("no speech was found in the audio, so there is nothing to keep")
    rate = audio.sample_rate
    spans = [(max(0.0, a - pad_s), min(audio.duration_s, b + pad_s)) for a, b in speech]
    if max_pause_s is None:
        spans = [(spans[0][0], spans[-1][1])]
    else:  # spans whose pause is short enough stay together; each long pause keeps max_pause_s
        merged = [spans[0]]
        for a, b in spans[1:]:
            if a - merged[-1][1] <= max_pause_s:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                keep = max_pause_s / 2
                merged[-1] = (merged[-1][0], merged[-1][1] + keep)
                merged.append((a - keep, b))
        spans = merged
    parts = [Audio(audio.samples[round(a * rate) : round(b * rate)].copy(), rate) for a, b in spans]
    return concat_with_crossfade(parts, fade_ms=JOIN_FADE_MS)


def fade(audio: Audio, *, in_s: float = 0.0, out_s: float = 0.0) -> Audio:
    """Linear fades: the first sample of a fade-in and the last of a fade-out are exactly 0.

    Fades longer than the audio are shortened to it; overlapping fades multiply.
    """
    if in_s < 0 or out_s < 0:
        raise ValueError(f"fade lengths must not be negative, got in_s={in_s}, out_s={out_s}")
    samples = audio.samples.copy()
    fade_in = min(round(in_s * audio.sample_rate), samples.size)
    fade_out = min(round(out_s * audio.sample_rate), samples.size)
    if fade_in > 1:
        samples[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out > 1:
        samples[-fade_out:] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return Audio(samples, audio.sample_rate)


def gain(audio: Audio, *, db: float) -> Audio:
    """``audio`` louder (or softer) by ``db`` decibels; samples past full scale are clipped."""
    return Audio(_scaled(audio.samples, db), audio.sample_rate)


def loudness_lufs(audio: Audio) -> float:
    """Integrated loudness (ITU-R BS.1770-4) in LUFS; ``-inf`` for silence."""
    if audio.duration_s < LOUDNESS_BLOCK_S:
        raise ValueError(
            f"the audio is {audio.duration_s:.3f} s long; loudness needs at least "
            f"{LOUDNESS_BLOCK_S} s"
        )
    import pyloudnorm

    meter = pyloudnorm.Meter(audio.sample_rate)
    with np.errstate(divide="ignore"):  # silence: log10(0) is -inf, which is the answer
        return float(meter.integrated_loudness(audio.samples.astype(np.float64)))


def normalize(audio: Audio, *, target_lufs: float) -> Audio:
    """``audio`` with its integrated loudness moved to ``target_lufs`` by one gain.

    The gain is not limited: a target so loud that peaks pass full scale clips them.
    """
    measured = loudness_lufs(audio)
    if not np.isfinite(measured):
        raise ValueError("the audio is silent (below -70 LUFS): it has no loudness to normalise")
    return gain(audio, db=target_lufs - measured)


def change_speed(audio: Audio, *, factor: float) -> Audio:
    """``audio`` played ``factor`` times as fast, its pitch and formants kept (Rubber Band)."""
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    if factor == 1.0:
        return audio
    return _stretch(audio, factor=factor, semitones=0.0)


def shift_pitch(audio: Audio, *, semitones: float) -> Audio:
    """``audio`` ``semitones`` higher (or lower), as long as before, formants kept."""
    if semitones == 0:
        return audio
    return _stretch(audio, factor=1.0, semitones=semitones)


def concat(parts: Sequence[Audio], *, gap_s: float = 0.0, crossfade_ms: float = 10.0) -> Audio:
    """``parts`` end to end at the first part's rate (the others resampled to it): with
    ``gap_s`` of silence between them (each side faded over ``crossfade_ms``), or without a
    gap, each seam a crossfade of ``crossfade_ms`` (the result is shorter by one per seam)."""
    if not parts:
        raise ValueError("concat needs at least one part")
    rate = parts[0].sample_rate
    return concat_with_crossfade(
        [_resample(part, rate) for part in parts], gap_s=gap_s, fade_ms=crossfade_ms
    )


def split(audio: Audio, *, at_s: Sequence[float]) -> list[Audio]:
    """``audio`` cut at the times ``at_s`` (increasing, inside the audio): len(at_s)+1 parts."""
    if not at_s:
        raise ValueError("split needs at least one time")
    previous = 0.0
    for t in at_s:
        if t <= previous:
            raise ValueError(f"split times must increase and be positive, got {list(at_s)}")
        previous = t
    if at_s[-1] >= audio.duration_s:
        raise ValueError(
            f"split time {at_s[-1]} s is not before the end of the audio ({audio.duration_s:.3f} s)"
        )
    cuts = [0, *(round(t * audio.sample_rate) for t in at_s), audio.samples.size]
    return [
        Audio(audio.samples[a:b].copy(), audio.sample_rate) for a, b in itertools.pairwise(cuts)
    ]


def resample(audio: Audio, *, sample_rate: int) -> Audio:
    """``audio`` at ``sample_rate`` Hz (soxr, high quality)."""
    return _resample(audio, sample_rate)


def to_mono(samples: FloatArray, sample_rate: int) -> Audio:
    """Frames x channels (or already 1-D) to mono: the mean of the channels.

    ``Audio`` is mono, and decoding already averages channels this way; this is the same
    mix-down for samples that are not yet an ``Audio``.
    """
    if samples.ndim == 1:
        return Audio(samples.astype(np.float32, copy=True), sample_rate)
    if samples.ndim != 2:
        raise ValueError(f"samples must be frames x channels, got shape {samples.shape}")
    return Audio(np.mean(samples, axis=1, dtype=np.float32), sample_rate)


def _scaled(samples: FloatArray, db: float) -> FloatArray:
    scaled: FloatArray = np.clip(samples * np.float32(10.0 ** (db / 20.0)), -1.0, 1.0)
    return scaled.astype(np.float32, copy=False)


def _stretch(audio: Audio, *, factor: float, semitones: float) -> Audio:
    import pedalboard

    out = pedalboard.time_stretch(
        np.ascontiguousarray(audio.samples),
        float(audio.sample_rate),
        stretch_factor=factor,
        pitch_shift_in_semitones=semitones,
        high_quality=True,
        preserve_formants=True,
    )
    samples = np.clip(np.asarray(out, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return Audio(samples, audio.sample_rate)
