"""Editing operations on real speech, each checked by measurement (../shared/eval/speech)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.conftest import EVAL_SPEECH

from voxclone.audio import ops
from voxclone.core.types import Audio, FloatArray

needs_eval = pytest.mark.skipif(
    not (EVAL_SPEECH / "manifest.csv").is_file(), reason="no shared/eval/speech"
)
needs_vad = pytest.mark.skipif(
    importlib.util.find_spec("silero_vad") is None
    or importlib.util.find_spec("onnxruntime") is None,
    reason="pip install --no-deps silero-vad onnxruntime",
)
pytestmark = needs_eval

MALE = "librispeech_test-other/1688/1688-142285-0001.flac"  # 12.6 s, 16 kHz
FEMALE = "vctk/p225"  # a directory: its first clip


def speech(name: str = MALE) -> Audio:
    path = EVAL_SPEECH / name
    if path.is_dir():
        path = sorted(p for p in path.iterdir() if p.suffix in (".wav", ".flac"))[0]
    samples, rate = sf.read(Path(path), dtype="float32", always_2d=True)
    return Audio(np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), int(rate))


@functools.cache
def voiced(name: str) -> Audio:
    """The first 5 s of a clip: enough speech for F0 statistics, quick to analyse."""
    return ops.trim(speech(name), end_s=5.0)


@functools.cache
def original_f0(name: str) -> FloatArray:
    return f0_track(voiced(name))


def rms(samples: FloatArray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def f0_track(audio: Audio) -> FloatArray:
    """F0 (Hz) every 5 ms by WORLD's Harvest; 0 where unvoiced."""
    from voxclone.engines.fitting.post import load_pyworld

    pw = load_pyworld()
    f0, _ = pw.harvest(audio.samples.astype(np.float64), audio.sample_rate, f0_floor=60.0)
    return np.asarray(f0, dtype=np.float32)


def median_f0(f0: FloatArray) -> float:
    """Median F0 (Hz) of the voiced frames."""
    return float(np.median(f0[f0 > 0]))


def frame_shift(shifted: FloatArray, original: FloatArray) -> float:
    """Median pitch change in semitones over the frames voiced in both (same timing)."""
    a, b = shifted, original
    n = min(a.size, b.size)
    both = (a[:n] > 0) & (b[:n] > 0)
    return float(np.median(12 * np.log2(a[:n][both] / b[:n][both])))


def semitones(high: float, low: float) -> float:
    return float(12 * np.log2(high / low))


def max_jump(samples: FloatArray) -> float:
    return float(np.max(np.abs(np.diff(samples))))


# --- trim, fades, gain ----------------------------------------------------------------------------


def test_trim_keeps_exactly_the_span() -> None:
    clip = speech()
    out = ops.trim(clip, start_s=0.5, end_s=3.0)
    assert out.duration_s == pytest.approx(2.5, abs=1 / clip.sample_rate)
    first = round(0.5 * clip.sample_rate)
    np.testing.assert_array_equal(out.samples[:100], clip.samples[first : first + 100])
    assert ops.trim(clip, start_s=10.0).duration_s == pytest.approx(clip.duration_s - 10.0)
    assert ops.trim(clip, end_s=99.0).duration_s == pytest.approx(clip.duration_s)  # clamped


@pytest.mark.parametrize(("start", "end"), [(-0.1, None), (2.0, 1.0), (2.0, 2.0), (99.0, None)])
def test_trim_refuses_bad_spans(start: float, end: float | None) -> None:
    with pytest.raises(ValueError, match=r"start_s|end_s"):
        ops.trim(speech(), start_s=start, end_s=end)


def test_fades_ramp_from_zero_and_leave_the_middle() -> None:
    clip = speech()
    out = ops.fade(clip, in_s=0.5, out_s=1.0)
    n_in, n_out = round(0.5 * clip.sample_rate), round(1.0 * clip.sample_rate)
    assert out.samples[0] == 0.0 and out.samples[-1] == 0.0
    envelope_in = out.samples[1:n_in] / np.where(clip.samples[1:n_in] == 0, 1, clip.samples[1:n_in])
    nonzero = clip.samples[1:n_in] != 0
    assert np.all(np.diff(envelope_in[nonzero]) >= -1e-6)  # the gain only rises
    assert np.all(
        np.abs(out.samples[: n_in // 10]) <= np.abs(clip.samples[: n_in // 10]) * 0.1 + 1e-9
    )
    middle = slice(n_in, clip.samples.size - n_out)
    np.testing.assert_array_equal(out.samples[middle], clip.samples[middle])
    assert out.duration_s == clip.duration_s


@pytest.mark.parametrize("db", [-12.0, 6.0])
def test_gain_scales_rms(db: float) -> None:
    clip = ops.normalize(speech(), target_lufs=-30.0)  # headroom: +6 dB must not clip
    out = ops.gain(clip, db=db)
    measured = 20 * np.log10(rms(out.samples) / rms(clip.samples))
    assert measured == pytest.approx(db, abs=0.01)


# --- loudness -------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [-16.0, -23.0, -30.0])
@pytest.mark.parametrize("name", [MALE, FEMALE])
def test_normalize_reaches_the_target_loudness(name: str, target: float) -> None:
    import pyloudnorm

    out = ops.normalize(speech(name), target_lufs=target)
    meter = pyloudnorm.Meter(out.sample_rate)
    assert meter.integrated_loudness(out.samples.astype(np.float64)) == pytest.approx(
        target, abs=0.5
    )


def test_normalize_refuses_silence_and_too_short_audio() -> None:
    with pytest.raises(ValueError, match="silent"):
        ops.normalize(Audio(np.zeros(16000, dtype=np.float32), 16000), target_lufs=-16)
    with pytest.raises(ValueError, match="at least"):
        ops.normalize(ops.trim(speech(), start_s=1.0, end_s=1.2), target_lufs=-16)


# --- speed and pitch ------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.25, 2.0])
def test_speed_changes_duration_and_keeps_pitch(factor: float) -> None:
    clip = voiced(MALE)
    out = ops.change_speed(clip, factor=factor)
    assert out.duration_s == pytest.approx(clip.duration_s / factor, rel=0.01)
    change = semitones(median_f0(f0_track(out)), median_f0(original_f0(MALE)))
    assert abs(change) < 0.5


@pytest.mark.parametrize("shift", [-5.0, 3.0])
@pytest.mark.parametrize("name", [MALE, FEMALE])
def test_pitch_shift_moves_f0_and_keeps_duration(name: str, shift: float) -> None:
    clip = voiced(name)
    out = ops.shift_pitch(clip, semitones=shift)
    assert out.duration_s == pytest.approx(clip.duration_s, rel=0.01)
    # frame by frame (the timing is kept): the medians of two tracks differ by where each
    # is voiced, up to 0.6 semitone on this clip, though every voiced frame moved by ``shift``
    assert frame_shift(f0_track(out), original_f0(name)) == pytest.approx(shift, abs=0.5)


# --- concat and split -----------------------------------------------------------------------------


def test_concat_joins_without_clicks() -> None:
    male, female = speech(MALE), ops.resample(speech(FEMALE), sample_rate=16000)
    rate = male.sample_rate
    # the worst seam: the left part ends on a positive peak, the right starts on a negative one
    end = round(3.0 * rate) + int(np.argmax(male.samples[round(3.0 * rate) : round(3.5 * rate)]))
    start = round(0.8 * rate) + int(
        np.argmin(female.samples[round(0.8 * rate) : round(1.5 * rate)])
    )
    left = Audio(male.samples[rate : end + 1].copy(), rate)
    right = Audio(female.samples[start:].copy(), rate)
    inside = max(max_jump(left.samples), max_jump(right.samples))
    hard = float(abs(left.samples[-1] - right.samples[0]))
    assert hard > inside  # joined as they are, the seam would click
    out = ops.concat([left, right], crossfade_ms=10.0)
    overlap = round(10.0 * rate / 1000)
    assert out.samples.size == left.samples.size + right.samples.size - overlap
    seam = left.samples.size - overlap
    window = out.samples[seam - 160 : seam + overlap + 160]  # the crossfade and 10 ms each side
    assert max_jump(window) <= inside


def test_concat_with_a_gap_resamples_and_pads() -> None:
    left = speech(MALE)
    right = speech(FEMALE)  # another rate
    out = ops.concat([left, right], gap_s=0.5)
    assert out.sample_rate == left.sample_rate
    assert out.duration_s == pytest.approx(left.duration_s + 0.5 + right.duration_s, abs=0.002)
    gap = out.samples[left.samples.size : left.samples.size + 8000]
    assert np.all(gap == 0)


def test_split_cuts_at_the_times() -> None:
    clip = speech()
    parts = ops.split(clip, at_s=[2.0, 5.5])
    assert [p.duration_s for p in parts] == pytest.approx([2.0, 3.5, clip.duration_s - 5.5])
    np.testing.assert_array_equal(np.concatenate([p.samples for p in parts]), clip.samples)
    for bad in ([], [3.0, 2.0], [0.0], [99.0]):
        with pytest.raises(ValueError):
            ops.split(clip, at_s=bad)


# --- resample, mono -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_resample_changes_rate_not_duration(rate: int) -> None:
    clip = speech()
    out = ops.resample(clip, sample_rate=rate)
    assert out.sample_rate == rate
    assert out.duration_s == pytest.approx(clip.duration_s, abs=1 / rate)
    assert rms(out.samples) == pytest.approx(rms(clip.samples), rel=0.05)


def test_to_mono_averages_channels() -> None:
    left = speech(MALE).samples[:32000]
    right = ops.gain(speech(MALE), db=-6.0).samples[:32000]
    out = ops.to_mono(np.stack([left, right], axis=1), 16000)
    assert out.samples.ndim == 1 and out.duration_s == pytest.approx(2.0)
    np.testing.assert_allclose(out.samples, (left + right) / 2, atol=1e-7)


# --- trim silence (Silero VAD) --------------------------------------------------------------------


@needs_vad
def test_trim_silence_cuts_added_silence_and_keeps_the_speech() -> None:
    from voxclone.engines.vad import speech_segments

    clip = speech(MALE)
    rate = clip.sample_rate
    noise = np.random.default_rng(1).normal(0, 0.002, round(1.5 * rate)).astype(np.float32)
    padded = Audio(np.concatenate([noise, clip.samples, noise[:rate]]), rate)
    spans = speech_segments(padded)
    out = ops.trim_silence(padded, spans, pad_s=0.05)
    assert out.duration_s <= clip.duration_s + 0.1  # 2.5 s of added silence gone
    assert out.duration_s >= clip.duration_s - 1.5  # but only silence
    before = sum(b - a for a, b in speech_segments(clip))
    after = sum(b - a for a, b in speech_segments(out))
    assert after == pytest.approx(before, rel=0.05)


@needs_vad
def test_trim_silence_shortens_long_pauses() -> None:
    from voxclone.engines.vad import speech_segments

    clip = speech(MALE)
    rate = clip.sample_rate
    pause = np.zeros(2 * rate, dtype=np.float32)
    half = round(6.3 * rate)  # between two words? the VAD decides where the pause is
    gapped = Audio(np.concatenate([clip.samples[:half], pause, clip.samples[half:]]), rate)
    spans = speech_segments(gapped)
    out = ops.trim_silence(gapped, spans, pad_s=0.05, max_pause_s=0.3)
    assert out.duration_s < gapped.duration_s - 1.5
    assert sum(b - a for a, b in speech_segments(out)) == pytest.approx(
        sum(b - a for a, b in spans), rel=0.05
    )


def test_trim_silence_without_speech_is_refused() -> None:
    with pytest.raises(ValueError, match="no speech"):
        ops.trim_silence(speech(), [])
