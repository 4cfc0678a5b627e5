"""Fitting Kokoro to a reference speaker: VAD, reference checks, post-processing, recipes.

Pure parts run everywhere. Parts that need pyworld, the Silero VAD model or Resemblyzer are
skipped where those packages are missing; those that run a real model are marked ``engine``.
The fit itself runs against a fake renderer and a fake speaker encoder (small, deterministic),
so its shape and bookkeeping are tested in seconds.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.conftest import EVAL_SPEECH

from voxclone.core.errors import Unprocessable, UnusableReference
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.fitting import post as world
from voxclone.engines.fitting.post import apply_post, is_neutral, style_from_recipe
from voxclone.engines.vad import VadOptions, segments_from_probs


def _missing(*modules: str) -> bool:
    return any(importlib.util.find_spec(m) is None for m in modules)


needs_world = pytest.mark.skipif(_missing("pyworld"), reason="pip install pyworld")
needs_vad = pytest.mark.skipif(
    _missing("silero_vad", "onnxruntime"), reason="pip install --no-deps silero-vad"
)
needs_encoder = pytest.mark.skipif(
    _missing("resemblyzer", "torch"), reason='pip install resemblyzer "setuptools<81"'
)
needs_eval = pytest.mark.skipif(
    not (EVAL_SPEECH / "manifest.csv").is_file(), reason="no shared/eval/speech"
)
RATE = 16000


# --- signals ------------------------------------------------------------------------------------


def voiced(seconds: float, f0: float, rate: int = 24000, seed: int = 0) -> Audio:
    """A vowel-like buzz: harmonics under a two-formant envelope, F0 with slow vibrato."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    wave = np.zeros_like(t)
    for k in range(1, int(rate / 2 / (f0 * 1.1))):
        hz = k * f0
        gain = np.exp(-(((hz - 600) / 300) ** 2)) + 0.5 * np.exp(-(((hz - 1800) / 400) ** 2))
        wave += (gain + 0.02) * np.sin(k * phase) / k**0.5
    wave += 0.003 * np.random.default_rng(seed).standard_normal(len(t))
    return Audio((0.3 * wave / np.max(np.abs(wave))).astype(np.float32), rate)


def white_noise(seconds: float = 6.0) -> Audio:
    x = 0.1 * np.random.default_rng(1).standard_normal(int(seconds * RATE))
    return Audio(x.astype(np.float32), RATE)


def pink_noise(seconds: float = 6.0) -> Audio:
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(2).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    x = np.fft.irfft(spectrum, n)
    return Audio((0.1 * x / np.std(x)).astype(np.float32), RATE)


def music(seconds: float = 8.0, bpm: float = 110.0) -> Audio:
    """Chords of harmonic tones on every half bar, a kick and a snare on the beats."""
    rng = np.random.default_rng(3)
    n = int(seconds * RATE)
    y = np.zeros(n)
    beat = 60 / bpm
    chords = [[0, 4, 7, -12], [5, 9, 12, -7], [7, 11, 14, -5], [-3, 0, 4, -15]]
    for i in range(int(seconds / (2 * beat)) + 1):
        start, length = int(i * 2 * beat * RATE), int(2 * beat * RATE)
        t = np.arange(min(length, n - start)) / RATE
        envelope = np.minimum(1, t / 0.02) * np.exp(-1.5 * t)
        for semitone in chords[i % 4]:
            for h in range(1, 6):
                hz = 220 * 2 ** (semitone / 12) * h
                y[start : start + len(t)] += 0.08 / h * envelope * np.sin(2 * np.pi * hz * t)
    for i in range(int(seconds / beat) + 1):
        start = int(i * beat * RATE)
        t = np.arange(min(int(0.25 * RATE), n - start)) / RATE
        if i % 2 == 0:
            kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-30 * t)) * t)
            y[start : start + len(t)] += 0.5 * np.exp(-20 * t) * kick
        else:
            y[start : start + len(t)] += 0.25 * np.exp(-25 * t) * rng.standard_normal(len(t))
    return Audio((0.8 * y / np.max(np.abs(y))).astype(np.float32), RATE)


def eval_clip(name: str) -> Audio:
    samples, rate = sf.read(EVAL_SPEECH / name, dtype="float32", always_2d=True)
    return Audio(np.ascontiguousarray(samples.mean(axis=1)), rate)


def measured_f0(audio: Audio) -> float:
    from voxclone.engines.fitting.reference import pitch_stats

    return pitch_stats(audio).median_hz


# --- recipes and neutral post-processing (no optional packages) ----------------------------------


def fake_stock() -> dict[str, FloatArray]:
    rng = np.random.default_rng(7)
    return {
        name: rng.standard_normal((510, 1, 256)).astype(np.float32) for name in ("aa", "bb", "cc")
    }


def test_style_is_the_weighted_sum_of_the_named_packs() -> None:
    stock = fake_stock()
    style = style_from_recipe({"blend": {"aa": 0.25, "cc": 0.75}}, stock)
    assert style.shape == (510, 1, 256)
    assert style.dtype == np.float32
    np.testing.assert_allclose(style, 0.25 * stock["aa"] + 0.75 * stock["cc"], rtol=1e-5)
    np.testing.assert_array_equal(style_from_recipe({"blend": {"bb": 1.0}}, stock), stock["bb"])


def test_style_refuses_unknown_or_missing_voices() -> None:
    with pytest.raises(ValueError, match="zz"):
        style_from_recipe({"blend": {"aa": 0.5, "zz": 0.5}}, fake_stock())
    with pytest.raises(ValueError, match="blend"):
        style_from_recipe({"blend": {}}, fake_stock())


def test_neutral_post_returns_the_audio_untouched() -> None:
    audio = voiced(1.0, 150.0)
    assert is_neutral({"f0_ratio": 1.0, "f0_range": 1.0, "formant": 1.0, "eq_db": [0.0, 0.01]})
    assert apply_post(audio, {"f0_ratio": 1.0, "eq_hz": [100, 200], "eq_db": [0, 0]}) is audio
    assert not is_neutral({"f0_ratio": 1.05})


def test_vad_hysteresis_pads_merges_and_drops_blips() -> None:
    probs = np.array([0.1] * 10 + [0.9] * 20 + [0.4] * 2 + [0.9] * 10 + [0.1] * 20 + [0.9] * 3)
    probs = np.concatenate([probs, [0.1] * 10]).astype(np.float32)
    segments = segments_from_probs(probs, VadOptions(), duration_s=len(probs) * 0.032)
    # the dip to 0.4 stays speech (above the 0.35 exit threshold); 3 windows (96 ms) are dropped
    assert len(segments) == 1
    start, end = segments[0]
    assert start == pytest.approx(10 * 0.032 - 0.03, abs=1e-3)
    assert end == pytest.approx(42 * 0.032 + 0.03, abs=1e-3)


# --- WORLD post-processing ----------------------------------------------------------------------


@needs_world
def test_nearly_neutral_post_keeps_the_sound() -> None:
    audio = voiced(2.0, 150.0)
    out = apply_post(audio, {"eq_hz": [200.0, 2000.0], "eq_db": [0.2, 0.2]})
    assert out is not audio
    assert len(out.samples) == len(audio.samples)
    assert out.sample_rate == audio.sample_rate
    assert measured_f0(out) == pytest.approx(measured_f0(audio), rel=0.02)
    from voxclone.engines.fitting.reference import long_term_spectrum

    difference = long_term_spectrum(out) - long_term_spectrum(audio)
    assert np.median(np.abs(difference)) < 2.0
    rms_in, rms_out = (float(np.sqrt(np.mean(a.samples**2))) for a in (audio, out))
    assert rms_out == pytest.approx(rms_in, rel=0.1)


@needs_world
@pytest.mark.parametrize("ratio", [0.8, 1.25])
def test_f0_ratio_moves_the_measured_pitch(ratio: float) -> None:
    audio = voiced(2.0, 150.0)
    out = apply_post(audio, {"f0_ratio": ratio})
    assert measured_f0(out) == pytest.approx(150.0 * ratio, rel=0.03)


@needs_world
def test_formant_warp_moves_the_envelope_and_eq_tapers_off() -> None:
    envelope = np.zeros((2, 101))
    envelope[:, 40] = 1.0
    warped = world.warp_envelope(envelope, 1.25)
    assert int(np.argmax(warped[0])) == 50
    assert world.warp_envelope(envelope, 1.0) is envelope
    gains = world.eq_gains(
        {"eq_hz": [100.0, 1000.0], "eq_db": [6.0, 6.0]}, bins=513, sample_rate=24000
    )
    assert gains is not None
    db = 10 * np.log10(gains)
    assert db[20] == pytest.approx(6.0)  # 470 Hz: inside the bands
    assert db[-1] == pytest.approx(0.0)  # 12 kHz: back to flat above the top band
    with pytest.raises(ValueError, match="eq_hz"):
        world.eq_gains({"eq_hz": [1000.0, 100.0], "eq_db": [1, 2]}, bins=9, sample_rate=16000)


# --- Silero VAD and the reference checks (real models) -------------------------------------------


@needs_vad
@needs_eval
@pytest.mark.engine
def test_vad_finds_speech_in_speech_and_none_in_silence() -> None:
    from voxclone.engines import vad

    speech = eval_clip("vctk/p225/p225_003.wav")
    segments = vad.speech_segments(speech)
    assert segments
    assert all(0 <= a < b <= speech.duration_s for a, b in segments)
    assert vad.speech_ratio(speech) > 0.7
    trimmed = vad.trim_silence(speech)
    assert 0.6 * speech.duration_s < trimmed.duration_s < speech.duration_s
    silence = Audio(np.zeros(3 * RATE, dtype=np.float32), RATE)
    assert vad.speech_segments(silence) == []
    assert vad.speech_ratio(silence) == 0.0
    assert vad.trim_silence(silence).duration_s == 0.0


def assert_rejected(
    audio: Audio, problem: str, embed: Callable[[Audio], FloatArray] | None
) -> None:
    from voxclone.engines.fitting.reference import analyse_reference

    with pytest.raises(UnusableReference) as caught:
        analyse_reference(audio, embed=embed)
    error = caught.value
    assert isinstance(error, Unprocessable)
    assert error.code == "unusable_reference"
    assert error.details["problem"] == problem
    assert "reference clip" in error.message
    json.dumps(error.details)  # numbers a client can read


@needs_vad
@needs_world
@pytest.mark.engine
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Audio(np.zeros(5 * RATE, dtype=np.float32), RATE), "silent"),
        (white_noise, "noise"),
        (pink_noise, "noise"),
        (music, "music"),
    ],
    ids=["silence", "white-noise", "pink-noise", "music"],
)
def test_unusable_references_are_refused_with_the_reason(
    make: Callable[[], Audio], problem: str
) -> None:
    assert_rejected(make(), problem, embed=None)


@needs_vad
@needs_world
@needs_encoder
@needs_eval
@pytest.mark.engine
def test_two_speakers_are_refused_and_one_is_accepted() -> None:
    from voxclone.engines import speaker
    from voxclone.engines.fitting.reference import analyse_reference

    her, him = eval_clip("vctk/p225/p225_023.wav"), eval_clip("vctk/p226/p226_021.wav")
    both = Audio.concatenate([her, him])
    assert_rejected(both, "multiple_speakers", embed=speaker.embed)
    analysis = analyse_reference(her, embed=speaker.embed)
    assert analysis.speech_s > 5.0
    assert 140 < analysis.pitch.median_hz < 220
    assert analysis.spectrum_db.shape == (24,)


# --- the fit, with a fake Kokoro and a fake speaker encoder ------------------------------------


def fake_render(text: str, style: FloatArray, lang: str) -> Audio:
    """A buzz whose pitch follows the style's first number: stands in for Kokoro."""
    f0 = 100.0 + 60.0 * float(np.tanh(style.reshape(-1, 256)[0, 0]))
    return voiced(1.0 + 0.01 * len(text), f0, seed=len(text))


def fake_embed(audio: Audio) -> FloatArray:
    """Log band energies as a 'speaker embedding': pitch and timbre move it, as they should."""
    from voxclone.engines.fitting.reference import _band_power

    vector = np.log(_band_power(audio) + 1e-9)
    vector -= vector.mean()
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@needs_vad
@needs_world
@needs_eval
@pytest.mark.engine
def test_fit_returns_a_json_recipe_that_the_post_processing_accepts(tmp_path: Path) -> None:
    from voxclone.engines.fitting import fit_voice
    from voxclone.engines.fitting.table import cached_table

    stock = fake_stock()
    table = cached_table(tmp_path, render=fake_render, stock=stock, embed=fake_embed)
    assert sorted(p.name for p in tmp_path.iterdir())[0].startswith("kokoro-fit-table-")
    again = cached_table(tmp_path, render=None, stock=stock, embed=fake_embed)  # type: ignore[arg-type]
    assert again.names == table.names == ["aa", "bb", "cc"]
    seen: list[float] = []
    recipe = fit_voice(
        eval_clip("vctk/p226/p226_003.wav"),
        render=fake_render,
        stock=stock,
        embed=fake_embed,
        table=table,
        progress=seen.append,
        budget_s=30,
    )
    assert json.loads(json.dumps(recipe)) == recipe
    assert recipe["kind"] == "kokoro-fit"
    assert recipe["version"] == 1
    assert set(recipe["blend"]) <= set(stock)
    assert sum(recipe["blend"].values()) == pytest.approx(1.0)
    post = recipe["post"]
    assert {"f0_ratio", "f0_range", "formant", "eq_hz", "eq_db"} <= set(post)
    assert len(post["eq_hz"]) == len(post["eq_db"])
    assert max(abs(g) for g in post["eq_db"]) <= 12.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    style = style_from_recipe(recipe, stock)
    out = apply_post(fake_render("a test", style, "en"), post)
    assert out.sample_rate == 24000
    assert np.all(np.isfinite(out.samples))


@needs_world
def test_search_nudges_the_pitch_level_towards_what_the_encoder_prefers() -> None:
    """The pitch statistics put the level at 1.0; an encoder that only hears pitch and likes
    a semitone higher best gets it from the refinement step."""
    from voxclone.engines.fitting.fit import _search
    from voxclone.engines.fitting.reference import (
        PitchStats,
        ReferenceAnalysis,
        long_term_spectrum,
    )

    clip = voiced(1.5, 130.0, rate=RATE)
    preferred = 130.0 * 2 ** (1 / 12)

    def pitch_only(audio: Audio) -> FloatArray:
        angle = 12 * np.log2(measured_f0(audio) / preferred) / 4  # a quarter radian per semitone
        return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)

    analysis = ReferenceAnalysis(
        speech=clip,
        duration_s=1.5,
        speech_s=1.5,
        speech_ratio=1.0,
        level_dbfs=-12.0,
        stationarity=0.5,
        pitch=PitchStats(median_hz=130.0, spread_st=1.0, voiced_share=1.0),
        spectrum_db=long_term_spectrum(clip),
    )
    start = {"f0_ratio": 1.0, "f0_range": 1.0, "formant": 1.0}
    found = _search(
        analysis,
        [world.analyse(clip)],
        start,
        (1.0,),
        {"aa": 1.0},
        np.array([1.0, 0.0], dtype=np.float32),  # the preferred pitch
        pitch_only,
    )
    assert found.post["f0_ratio"] == pytest.approx(2 ** (1 / 12), abs=1e-3)
    assert found.score > 0.99
    assert found.post["formant"] == 1.0 and len(found.post["eq_db"]) == len(found.post["eq_hz"])
