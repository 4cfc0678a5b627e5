"""Mixing, measured: clips land where they are placed, overlaps add up, gains and fades are
what they say, trims cut where asked, and loudness lands within 0.5 LU of the target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import EVAL_SPEECH

from voxclone.audio import decode_audio
from voxclone.audio.mix import (
    PlacedClip,
    TrackMix,
    loudness_lufs,
    mix,
    normalize_loudness,
)
from voxclone.core.types import Audio

RATE = 16000


def dc(seconds: float, value: float = 0.1, rate: int = RATE) -> Audio:
    return Audio(np.full(round(seconds * rate), value, dtype=np.float32), rate)


def ramp(seconds: float, rate: int = RATE) -> Audio:
    """Sample i holds i / rate: a sample's value says where in the source it came from."""
    return Audio((np.arange(round(seconds * rate)) / rate / 100).astype(np.float32), rate)


def test_a_clip_is_placed_at_its_start_time_and_silence_comes_before() -> None:
    mixed = mix([TrackMix(clips=[PlacedClip(dc(0.5), start_s=1.0)])], sample_rate=RATE)
    samples = mixed.master.samples
    assert mixed.master.duration_s == pytest.approx(1.5)
    assert not np.any(samples[: RATE - 1])
    assert np.allclose(samples[RATE:], 0.1)


def test_overlapping_clips_sum_on_one_track_and_across_tracks() -> None:
    one = TrackMix(clips=[PlacedClip(dc(1.0), start_s=0.0), PlacedClip(dc(1.0), start_s=0.5)])
    two = TrackMix(clips=[PlacedClip(dc(1.0, 0.2), start_s=0.75)])
    master = mix([one, two], sample_rate=RATE).master.samples
    assert master[int(0.25 * RATE)] == pytest.approx(0.1)
    assert master[int(0.6 * RATE)] == pytest.approx(0.2)
    assert master[int(0.9 * RATE)] == pytest.approx(0.4)
    assert master[int(1.6 * RATE)] == pytest.approx(0.2)


def test_clip_and_track_gains_multiply() -> None:
    track = TrackMix(clips=[PlacedClip(dc(1.0), start_s=0, gain_db=6.0)], gain_db=-12.0)
    master = mix([track], sample_rate=RATE).master.samples
    assert master[RATE // 2] == pytest.approx(0.1 * 10 ** (-6 / 20), rel=1e-4)


def test_trims_cut_the_source_where_asked() -> None:
    clip = PlacedClip(ramp(2.0), start_s=0.0, trim_in_s=0.5, trim_out_s=1.25)
    master = mix([TrackMix(clips=[clip])], sample_rate=RATE).master.samples
    assert len(master) == round(0.75 * RATE)
    assert master[0] == pytest.approx(0.5 / 100, abs=1e-6)
    assert master[-1] == pytest.approx((1.25 - 1 / RATE) / 100, abs=1e-6)


def test_fades_ramp_linearly_from_and_to_silence() -> None:
    clip = PlacedClip(dc(1.0), start_s=0.0, fade_in_s=0.25, fade_out_s=0.5)
    master = mix([TrackMix(clips=[clip])], sample_rate=RATE).master.samples
    assert master[0] == 0.0
    assert master[int(0.125 * RATE)] == pytest.approx(0.05, rel=1e-3)
    assert master[int(0.375 * RATE)] == pytest.approx(0.1)
    assert master[int(0.75 * RATE)] == pytest.approx(0.05, rel=1e-3)
    assert master[-1] == pytest.approx(0.0, abs=1e-5)


def test_a_muted_track_is_left_out_and_stems_sum_to_the_mix() -> None:
    tracks = [
        TrackMix(clips=[PlacedClip(dc(1.0), start_s=0.0)]),
        TrackMix(clips=[PlacedClip(dc(2.0, 0.3), start_s=0.0)], muted=True),
        TrackMix(clips=[PlacedClip(dc(0.5, 0.2), start_s=0.25)], gain_db=-6.0),
    ]
    mixed = mix(tracks, sample_rate=RATE, stems=True)
    assert mixed.master.duration_s == pytest.approx(1.0)  # the muted 2 s clip does not count
    assert mixed.stems[1] is None
    first, third = mixed.stems[0], mixed.stems[2]
    assert first is not None and third is not None
    assert np.allclose(first.samples + third.samples, mixed.master.samples)


def test_clips_at_other_rates_are_resampled() -> None:
    mixed = mix([TrackMix(clips=[PlacedClip(dc(1.0, rate=24000), 0.5)])], sample_rate=RATE)
    assert mixed.master.sample_rate == RATE
    assert mixed.master.duration_s == pytest.approx(1.5, abs=1e-3)


def test_negative_times_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PlacedClip(dc(1.0), start_s=-1.0)
    with pytest.raises(ValueError, match="trim_out_s"):
        PlacedClip(dc(1.0), start_s=0, trim_in_s=0.5, trim_out_s=0.25)


def speech() -> Audio:
    path = next(Path(EVAL_SPEECH).rglob("*.flac"), None)
    if path is None:
        pytest.skip(f"no speech clips under {EVAL_SPEECH}")
    return decode_audio(path.read_bytes()).audio


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_loudness_normalisation_of_real_speech_lands_within_half_a_lu(target: float) -> None:
    quiet = Audio((speech().samples * 0.2).astype(np.float32), speech().sample_rate)
    mixed = mix([TrackMix(clips=[PlacedClip(quiet, start_s=0.3)])], sample_rate=24000).master
    normalized = normalize_loudness(mixed, target)
    measured = loudness_lufs(normalized)
    assert measured is not None
    assert abs(measured - target) < 0.5
    assert float(np.max(np.abs(normalized.samples))) < 1.0


def test_normalisation_never_clips_and_leaves_silence_alone() -> None:
    wave = np.sin(2 * np.pi * 220 * np.arange(RATE) / RATE) * 0.01
    out = normalize_loudness(Audio(wave.astype(np.float32), RATE), 0.0)
    assert 0.9 < float(np.max(np.abs(out.samples))) < 1.0
    silent = Audio(np.zeros(RATE, dtype=np.float32), RATE)
    assert normalize_loudness(silent, -16.0) is silent
