from __future__ import annotations

import math

import numpy as np
import pytest

from voxclone.audio import check_duration, is_silent, peak_dbfs, rms_dbfs
from voxclone.core.errors import AudioDurationOutOfRange
from voxclone.core.types import Audio


def _silence(seconds: float, rate: int = 16000) -> Audio:
    return Audio(np.zeros(round(seconds * rate), dtype=np.float32), rate)


@pytest.mark.parametrize("seconds", [3.0, 10.0, 60.0])
def test_duration_within_range(seconds):
    check_duration(_silence(seconds), min_s=3, max_s=60)


def test_too_short():
    with pytest.raises(AudioDurationOutOfRange) as caught:
        check_duration(_silence(0.5), min_s=3, max_s=60, what="reference audio")
    assert caught.value.message == "reference audio is 0.5 s long; it must be between 3 and 60 s"
    assert caught.value.details == {"duration_s": 0.5, "min_s": 3, "max_s": 60}


def test_too_long():
    with pytest.raises(AudioDurationOutOfRange) as caught:
        check_duration(_silence(61.5), min_s=3, max_s=60)
    assert caught.value.message == "audio is 61.5 s long; it must be between 3 and 60 s"
    assert caught.value.details["duration_s"] == 61.5


def test_levels_of_a_sine(make_sine):
    sine = make_sine(seconds=1.0, amplitude=0.5)
    assert peak_dbfs(sine) == pytest.approx(-6.02, abs=0.01)
    assert rms_dbfs(sine) == pytest.approx(-9.03, abs=0.01)


def test_levels_of_a_full_scale_square():
    square = Audio(np.array([1.0, -1.0] * 100, dtype=np.float32), 8000)
    assert peak_dbfs(square) == 0.0
    assert rms_dbfs(square) == 0.0


@pytest.mark.parametrize("audio", [_silence(1.0), _silence(0.0)], ids=["zeros", "empty"])
def test_levels_of_silence(audio):
    assert peak_dbfs(audio) == -math.inf
    assert rms_dbfs(audio) == -math.inf
    assert is_silent(audio)


def test_is_silent(make_sine):
    assert not is_silent(make_sine(amplitude=0.5))
    quiet = make_sine(amplitude=10 ** (-70 / 20))  # peak -70 dBFS, RMS -73 dBFS
    assert is_silent(quiet)
    assert not is_silent(quiet, threshold_dbfs=-80)


def test_a_lone_click_is_still_silence():
    samples = np.zeros(16000, dtype=np.float32)
    samples[8000] = 0.1
    click = Audio(samples, 16000)
    assert peak_dbfs(click) == pytest.approx(-20, abs=0.01)
    assert is_silent(click)
