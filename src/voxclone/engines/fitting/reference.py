"""What a reference clip tells about its speaker, and whether it can be used at all.

``analyse_reference`` trims the clip to its speech (Silero VAD), refuses clips that cannot be
cloned from, with an ``UnusableReference`` whose ``details["problem"]`` says why, and measures
what the fit needs: robust pitch statistics and the long-term spectrum of the speech.

The checks, in order. Measured with the thresholds below: none of the 65 real clips of the
evaluation set is refused; silence, white and pink noise and generated music (chords and drums)
are all refused for the right reason; of 16 pairs of different speakers joined one after the
other, 15 are refused; two voices talking at once (mixed) are not detected.

- ``silent``: the clip's level is below -60 dBFS;
- ``music``: little speech and a spectrum that stays put for long stretches (held notes), or
  such a spectrum even where the VAD hears speech;
- ``noise``: less than ``MIN_SPEECH_S`` seconds of speech, otherwise;
- ``multiple_speakers``: the speech before and after some point in the clip embeds as two
  different people (needs an ``embed`` function; skipped without one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxclone.audio.resample import resample
from voxclone.core.errors import UnusableReference
from voxclone.core.types import Audio, FloatArray
from voxclone.engines import vad
from voxclone.engines.fitting.post import F0_CEIL, F0_FLOOR, load_pyworld

RATE = 16000
MIN_SPEECH_S = 2.0
SILENT_DBFS = -60.0
MUSIC_STATIONARITY = 0.72
"""Median correlation of log-spectra 200 ms apart: speech 0.17-0.67, generated music 0.76+."""
SPEECH_MUSIC_STATIONARITY = 0.8
"""The same, where the VAD did find speech: only clips far past any speech are called music."""
SPLIT_MIN_SIMILARITY = 0.7
"""Cosine of the embeddings of a clip's two parts, lowest over split points, below which the
clip holds two voices (one speaker: 0.74 and up on the evaluation clips; two: 0.47-0.67)."""
SPLIT_MIN_PART_S = 2.5
BAND_HZ: FloatArray = np.geomspace(100.0, 7200.0, 24).astype(np.float32)
"""Centres of the long-term-spectrum bands (and of the fitted equaliser)."""

Embed = Callable[[Audio], npt.NDArray[np.float32]]


@dataclass(frozen=True, slots=True)
class PitchStats:
    median_hz: float
    """Median F0 of the voiced frames that lie within a fifth of an octave-safe median."""
    spread_st: float
    """Robust spread of F0 in semitones (1.4826 x median absolute deviation)."""
    voiced_share: float


@dataclass(frozen=True, slots=True)
class ReferenceAnalysis:
    speech: Audio
    """The clip at 16 kHz with silences cut."""
    duration_s: float
    speech_s: float
    speech_ratio: float
    level_dbfs: float
    stationarity: float
    pitch: PitchStats
    spectrum_db: FloatArray
    """Long-term spectrum of the speech per ``BAND_HZ`` band, noise floor removed, mean 0 dB."""


def analyse_reference(reference: Audio, *, embed: Embed | None = None) -> ReferenceAnalysis:
    """Trim, check and measure a reference clip; raise UnusableReference if it is unusable."""
    audio = resample(reference, RATE)
    duration = audio.duration_s
    level = level_dbfs(audio.samples)
    if level < SILENT_DBFS:
        raise UnusableReference(
            f"the reference clip is silent (level {level:.0f} dBFS, below {SILENT_DBFS:.0f}); "
            "record it again closer to the microphone",
            problem="silent",
            level_dbfs=round(level, 1),
            duration_s=round(duration, 2),
        )
    segments = vad.speech_segments(audio)
    speech_s = sum(b - a for a, b in segments)
    ratio = speech_s / duration if duration > 0 else 0.0
    station = stationarity(audio.samples)
    numbers = {
        "speech_s": round(speech_s, 2),
        "speech_ratio": round(ratio, 3),
        "duration_s": round(duration, 2),
        "stationarity": round(station, 3),
    }
    if station >= SPEECH_MUSIC_STATIONARITY or (
        speech_s < MIN_SPEECH_S and station >= MUSIC_STATIONARITY
    ):
        raise UnusableReference(
            f"the reference clip sounds like music, not speech ({speech_s:.1f} s of speech "
            f"in {duration:.1f} s; held tones throughout); upload a clip of one person talking",
            problem="music",
            **numbers,
        )
    if speech_s < MIN_SPEECH_S:
        raise UnusableReference(
            f"the reference clip has only {speech_s:.1f} s of speech in {duration:.1f} s "
            f"({ratio:.0%}); it sounds like noise or silence. At least {MIN_SPEECH_S:.0f} s "
            "of one person talking is needed",
            problem="noise",
            **numbers,
        )
    speech = vad.trim_silence(audio)
    if embed is not None:
        split = split_similarity(speech, embed)
        if split is not None and split < SPLIT_MIN_SIMILARITY:
            raise UnusableReference(
                "the reference clip seems to hold more than one voice (its parts match each "
                f"other with similarity {split:.2f}, below {SPLIT_MIN_SIMILARITY:.2f}); "
                "upload a clip of one person talking",
                problem="multiple_speakers",
                split_similarity=round(split, 3),
                **numbers,
            )
    noise = _non_speech(audio, segments)
    return ReferenceAnalysis(
        speech=speech,
        duration_s=duration,
        speech_s=speech_s,
        speech_ratio=ratio,
        level_dbfs=level,
        stationarity=station,
        pitch=pitch_stats(speech),
        spectrum_db=long_term_spectrum(speech, noise=noise),
    )


def level_dbfs(samples: FloatArray) -> float:
    """RMS level in dB relative to full scale (-240 for digital silence)."""
    if len(samples) == 0:
        return -240.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * float(np.log10(max(rms, 1e-12)))


def stationarity(samples: FloatArray) -> float:
    """How alike the spectrum stays over 200 ms, as the median correlation of log-spectra.

    Speech changes sound every few tens of milliseconds; held musical notes do not. Only the
    louder 70 % of frames count, so pauses do not decide it.
    """
    n, hop, lag = 512, 256, 12
    if len(samples) < n + lag * hop:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(samples, n)[::hop] * np.hanning(n)
    spectra = np.log(np.abs(np.fft.rfft(frames, axis=1))[:, 6:128] ** 2 + 1e-10)
    spectra -= spectra.mean(axis=1, keepdims=True)
    a, b = spectra[:-lag], spectra[lag:]
    corr = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1) + 1e-12)
    energy = (frames**2).mean(axis=1)[:-lag]
    loud = energy > np.percentile(energy, 30)
    return float(np.median(corr[loud])) if loud.any() else 0.0


def split_similarity(speech: Audio, embed: Embed) -> float | None:
    """Lowest cosine between the embeddings of the parts before and after a split point.

    Split points at 30-70 % of the speech; None when the clip is too short to split.
    """
    x = speech.samples
    rate = speech.sample_rate
    least: float | None = None
    for share in (0.3, 0.4, 0.5, 0.6, 0.7):
        cut = int(share * len(x))
        if min(cut, len(x) - cut) < SPLIT_MIN_PART_S * rate:
            continue
        first = embed(Audio(x[:cut], rate))
        second = embed(Audio(x[cut:], rate))
        cosine = float(
            np.dot(first, second) / (np.linalg.norm(first) * np.linalg.norm(second) + 1e-12)
        )
        least = cosine if least is None else min(least, cosine)
    return least


def pitch_stats(audio: Audio) -> PitchStats:
    """Median-gated F0 statistics (DIO + StoneMask): octave errors and creak do not count."""
    pw = load_pyworld()
    x = audio.samples.astype(np.float64)
    f0, times = pw.dio(x, audio.sample_rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=5.0)
    f0 = pw.stonemask(x, f0, times, audio.sample_rate)
    voiced = f0[f0 > 0]
    if len(voiced) < 10:
        return PitchStats(median_hz=0.0, spread_st=0.0, voiced_share=0.0)
    semis = 12.0 * np.log2(voiced)
    centre = float(np.median(semis))
    kept = semis[np.abs(semis - centre) < 7.0]  # within a fifth: drops octave jumps
    centre = float(np.median(kept))
    spread = 1.4826 * float(np.median(np.abs(kept - centre)))
    return PitchStats(
        median_hz=float(2.0 ** (centre / 12.0)),
        spread_st=spread,
        voiced_share=float(len(voiced) / len(f0)),
    )


def long_term_spectrum(audio: Audio, *, noise: Audio | None = None) -> FloatArray:
    """Mean power per ``BAND_HZ`` band in dB, normalised to mean 0 dB over the bands.

    With ``noise`` (the clip's pauses), its spectrum is subtracted first (keeping at least a
    tenth of the power), so the microphone's hiss does not read as the voice's brightness.
    """
    power = _band_power(audio)
    if noise is not None and noise.duration_s >= 0.25:
        power = np.maximum(power - _band_power(noise), 0.1 * power)
    db = 10.0 * np.log10(np.maximum(power, 1e-12))
    spectrum: FloatArray = (db - db.mean()).astype(np.float32)
    return spectrum


def _band_power(audio: Audio) -> npt.NDArray[np.float64]:
    rate = audio.sample_rate
    n = 1 << int(np.ceil(np.log2(0.064 * rate)))
    x = audio.samples.astype(np.float64)
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * np.hanning(n)
    spectrum = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    edges = np.sqrt(BAND_HZ[1:] * BAND_HZ[:-1])
    edges = np.concatenate([[BAND_HZ[0] / 1.1], edges, [BAND_HZ[-1] * 1.1]])
    band = np.digitize(freqs, edges) - 1
    out = np.empty(len(BAND_HZ))
    for i in range(len(BAND_HZ)):
        hit = band == i
        out[i] = spectrum[hit].mean() if hit.any() else 1e-12
    return out


def _non_speech(audio: Audio, segments: list[tuple[float, float]]) -> Audio | None:
    """The clip's pauses, joined, or None when there are none."""
    keep = np.ones(len(audio.samples), dtype=bool)
    for a, b in segments:
        keep[int(a * audio.sample_rate) : int(b * audio.sample_rate)] = False
    if not keep.any():
        return None
    return Audio(audio.samples[keep], audio.sample_rate)
