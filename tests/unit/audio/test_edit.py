from __future__ import annotations

import numpy as np
import pytest

from voxclone.audio import concat_with_crossfade
from voxclone.core.types import Audio

RATE = 16000
FADE = 160  # 10 ms at 16 kHz


def _constant(value: float, samples: int, rate: int = RATE) -> Audio:
    return Audio(np.full(samples, value, dtype=np.float32), rate)


def _largest_step(audio: Audio) -> float:
    return float(np.max(np.abs(np.diff(audio.samples))))


def test_crossfade_removes_the_step_at_a_seam():
    parts = [_constant(1.0, 1000), _constant(-1.0, 1000)]
    assert _largest_step(Audio.concatenate(parts)) == 2.0  # the click without smoothing

    joined = concat_with_crossfade(parts)

    assert joined.samples.size == 2000 - FADE
    assert _largest_step(joined) < 2.0 / FADE * 1.01
    assert np.max(np.abs(joined.samples)) <= 1.0
    np.testing.assert_array_equal(joined.samples[:800], 1.0)  # outside the seam: untouched
    np.testing.assert_array_equal(joined.samples[-800:], -1.0)


def test_crossfade_of_equal_signals_is_seamless():
    joined = concat_with_crossfade([_constant(0.5, 1000), _constant(0.5, 1000)])
    np.testing.assert_allclose(joined.samples, 0.5, atol=1e-6)


def test_gap_fades_out_and_in_around_silence():
    joined = concat_with_crossfade(
        [_constant(0.8, 1000), _constant(0.8, 1000)], gap_s=0.25, fade_ms=10
    )
    gap = RATE // 4

    assert joined.samples.size == 2000 + gap
    np.testing.assert_array_equal(joined.samples[1000 : 1000 + gap], 0.0)
    assert joined.samples[999] < 0.01 and joined.samples[1000 + gap] < 0.01
    assert joined.samples[1000 - FADE - 1] == pytest.approx(0.8)
    assert joined.samples[1000 + gap + FADE] == pytest.approx(0.8)
    assert _largest_step(joined) < 0.8 / FADE * 1.01


def test_three_parts_and_the_inputs_are_not_changed(make_sine):
    parts = [make_sine(seconds=0.2), make_sine(seconds=0.3), make_sine(seconds=0.1)]
    before = [part.samples.copy() for part in parts]

    joined = concat_with_crossfade(parts, fade_ms=5)

    assert joined.samples.size == (3200 + 4800 + 1600) - 2 * 80
    assert joined.sample_rate == RATE
    for part, original in zip(parts, before, strict=True):
        np.testing.assert_array_equal(part.samples, original)


def test_parts_shorter_than_the_fade():
    joined = concat_with_crossfade([_constant(0.5, 1000), _constant(0.5, 40), _constant(0.5, 1000)])
    # The 40-sample part lies wholly inside the first seam; the second seam is a full fade.
    assert joined.samples.size == 1000 + 40 + 1000 - 40 - FADE
    np.testing.assert_allclose(joined.samples, 0.5, atol=1e-6)
    assert np.all(np.isfinite(joined.samples))


def test_empty_parts_are_skipped():
    empty = _constant(0.0, 0)
    joined = concat_with_crossfade([empty, _constant(0.5, 500), empty], gap_s=0.1)
    np.testing.assert_array_equal(joined.samples, 0.5)
    assert concat_with_crossfade([empty, empty]).samples.size == 0


def test_single_part_is_unchanged(make_sine):
    part = make_sine(seconds=0.5)
    np.testing.assert_array_equal(concat_with_crossfade([part], gap_s=0.5).samples, part.samples)


def test_no_fade(make_sine):
    parts = [_constant(1.0, 100), _constant(-1.0, 100)]
    joined = concat_with_crossfade(parts, fade_ms=0)
    np.testing.assert_array_equal(joined.samples, Audio.concatenate(parts).samples)


@pytest.mark.parametrize(
    ("parts", "kwargs", "match"),
    [
        ([], {}, "zero audio parts"),
        ([_constant(0.1, 10), _constant(0.1, 10, rate=22050)], {}, "different sample rates"),
        ([_constant(0.1, 10)], {"gap_s": -1}, "gap_s"),
        ([_constant(0.1, 10)], {"fade_ms": -5}, "fade_ms"),
    ],
)
def test_bad_arguments(parts, kwargs, match):
    with pytest.raises(ValueError, match=match):
        concat_with_crossfade(parts, **kwargs)
