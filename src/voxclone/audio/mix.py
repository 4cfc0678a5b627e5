"""Mixing placed clips into tracks, tracks into one file, and loudness normalisation.

Pure functions over ``Audio``: no I/O. A clip plays ``source[trim_in_s:trim_out_s]`` from
``start_s`` on the timeline, with its gain and linear fades; clips that overlap, on one track
or on several, add up. A track's gain applies to its clips; a muted track is left out of the
mix and has no stem.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxclone.audio.resample import resample
from voxclone.core.types import Audio, FloatArray

MIN_LOUDNESS_S = 0.4
"""ITU-R BS.1770 gating blocks are 400 ms long: shorter audio has no measurable loudness."""


@dataclass(frozen=True, slots=True)
class PlacedClip:
    audio: Audio
    start_s: float
    trim_in_s: float = 0.0
    trim_out_s: float | None = None
    """Where in the source the clip stops; None: at its end."""
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.trim_in_s < 0 or self.fade_in_s < 0 or self.fade_out_s < 0:
            raise ValueError(f"clip times must not be negative: {self!r}")
        if self.trim_out_s is not None and self.trim_out_s < self.trim_in_s:
            raise ValueError(f"trim_out_s ({self.trim_out_s}) is before trim_in_s")

    @property
    def length_s(self) -> float:
        """Seconds the clip lasts on the timeline."""
        end = self.audio.duration_s if self.trim_out_s is None else self.trim_out_s
        return max(0.0, min(end, self.audio.duration_s) - self.trim_in_s)

    @property
    def end_s(self) -> float:
        return self.start_s + self.length_s


@dataclass(frozen=True, slots=True)
class TrackMix:
    clips: list[PlacedClip] = field(default_factory=list)
    gain_db: float = 0.0
    muted: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Mixed:
    master: Audio
    stems: list[Audio | None]
    """One per track, in order: the track alone, as long as the master; None when muted."""


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def clip_samples(clip: PlacedClip, sample_rate: int) -> FloatArray:
    """The clip's samples at ``sample_rate``: trimmed, with gain and fades applied."""
    audio = resample(clip.audio, sample_rate)
    first = round(clip.trim_in_s * sample_rate)
    last = len(audio.samples) if clip.trim_out_s is None else round(clip.trim_out_s * sample_rate)
    samples = audio.samples[first : max(first, min(last, len(audio.samples)))].astype(np.float64)
    samples *= db_to_gain(clip.gain_db)
    n = len(samples)
    fade_in = min(n, round(clip.fade_in_s * sample_rate))
    if fade_in:
        samples[:fade_in] *= np.linspace(0.0, 1.0, fade_in, endpoint=False)
    fade_out = min(n, round(clip.fade_out_s * sample_rate))
    if fade_out:
        samples[n - fade_out :] *= np.linspace(0.0, 1.0, fade_out, endpoint=False)[::-1]
    return samples.astype(np.float32)


def mix(tracks: list[TrackMix], *, sample_rate: int, stems: bool = False) -> Mixed:
    """The tracks summed into one buffer as long as the last clip's end (silence before the
    first clip is kept: the timeline starts at 0); with ``stems``, each track alone too.
    Samples are not clipped here: ``normalize_loudness`` or the encoder decides."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    audible = [t for t in tracks if not t.muted]
    end_s = max((c.end_s for t in audible for c in t.clips), default=0.0)
    total = max(1, round(end_s * sample_rate))
    master = np.zeros(total, dtype=np.float64)
    stem_list: list[Audio | None] = []
    for track in tracks:
        if track.muted:
            stem_list.append(None)
            continue
        buffer = np.zeros(total, dtype=np.float64)
        for clip in track.clips:
            samples = clip_samples(clip, sample_rate)
            offset = round(clip.start_s * sample_rate)
            n = min(len(samples), total - offset)
            if n > 0:
                buffer[offset : offset + n] += samples[:n]
        buffer *= db_to_gain(track.gain_db)
        master += buffer
        stem_list.append(Audio(buffer.astype(np.float32), sample_rate) if stems else None)
    return Mixed(master=Audio(master.astype(np.float32), sample_rate), stems=stem_list)


def loudness_lufs(audio: Audio) -> float | None:
    """Integrated loudness (ITU-R BS.1770, pyloudnorm); None for audio too short or silent."""
    if audio.duration_s < MIN_LOUDNESS_S or not np.any(audio.samples):
        return None
    pyln: Any = importlib.import_module("pyloudnorm")
    meter = pyln.Meter(audio.sample_rate)
    value = float(meter.integrated_loudness(audio.samples.astype(np.float64)))
    return value if np.isfinite(value) else None


def loudness_gain(audio: Audio, target_lufs: float) -> float:
    """The gain that brings ``audio`` to ``target_lufs`` integrated loudness; 1 for audio
    without measurable loudness."""
    measured = loudness_lufs(audio)
    return 1.0 if measured is None else db_to_gain(target_lufs - measured)


def scaled(audio: Audio, gain: float) -> Audio:
    return Audio((audio.samples.astype(np.float64) * gain).astype(np.float32), audio.sample_rate)


def soft_limit(audio: Audio, *, knee: float = 0.9) -> Audio:
    """Samples past ``knee`` bent smoothly (tanh) to stay under full scale instead of
    clipping; the rest untouched. Speech brought to -16 LUFS has a few such peaks."""
    samples = audio.samples.astype(np.float64)
    over = np.abs(samples) > knee
    if not np.any(over):
        return audio
    room = 1.0 - knee
    bent = knee + room * np.tanh((np.abs(samples[over]) - knee) / room)
    samples[over] = np.sign(samples[over]) * bent
    return Audio(samples.astype(np.float32), audio.sample_rate)


def normalize_loudness(audio: Audio, target_lufs: float) -> Audio:
    """``audio`` at ``target_lufs`` integrated loudness, peaks soft-limited (``soft_limit``);
    audio without measurable loudness (silence, under 0.4 s) is returned unchanged."""
    gain = loudness_gain(audio, target_lufs)
    return audio if gain == 1.0 else soft_limit(scaled(audio, gain))
