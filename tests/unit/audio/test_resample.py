from __future__ import annotations

import numpy as np
import pytest

from voxclone.audio import resample, rms_dbfs
from voxclone.core.types import Audio


def test_same_rate_is_a_no_op(make_sine):
    audio = make_sine(rate=22050)
    assert resample(audio, 22050) is audio


@pytest.mark.parametrize(("source", "target"), [(16000, 48000), (44100, 16000), (22050, 24000)])
def test_rate_length_and_pitch(make_sine, dominant_frequency, source, target):
    converted = resample(make_sine(seconds=1.0, rate=source, freq=440), target)

    assert converted.sample_rate == target
    assert converted.samples.dtype == np.float32
    assert abs(converted.samples.size - target) <= 1
    assert abs(dominant_frequency(converted) - 440) < 2
    assert rms_dbfs(converted) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)


def test_tones_above_the_new_nyquist_are_filtered_not_aliased(make_sine):
    # 7 kHz cannot exist at 8 kHz; without an anti-alias filter it would fold to 1 kHz.
    converted = resample(make_sine(seconds=1.0, rate=48000, freq=7000), 8000)
    steady = Audio(converted.samples[100:-100], 8000)  # leave out the onset transients
    assert rms_dbfs(steady) < -80


def test_result_stays_within_full_scale():
    square = np.where(np.arange(16000) % 160 < 80, 1.0, -1.0).astype(np.float32)
    converted = resample(Audio(square, 16000), 44100)
    assert np.max(np.abs(converted.samples)) <= 1.0


def test_empty_audio():
    converted = resample(Audio(np.zeros(0, dtype=np.float32), 16000), 48000)
    assert (converted.samples.size, converted.sample_rate) == (0, 48000)


@pytest.mark.parametrize("rate", [0, -16000])
def test_rate_must_be_positive(make_sine, rate):
    with pytest.raises(ValueError, match=str(rate)):
        resample(make_sine(), rate)
