import json
import time

import numpy as np
import pytest

from voxclone.core.errors import EngineError, InvalidAudio, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.fake import DEFAULT_PITCH_HZ, SECONDS_PER_CHAR, FakeEngine


def tone(freq: float, seconds: float = 1.0, rate: int = 16000) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def dominant_frequency(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(audio.samples.size)))
    return float(np.argmax(spectrum) * audio.sample_rate / audio.samples.size)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(name="fake")


def test_is_a_tts_engine(engine: FakeEngine) -> None:
    assert isinstance(engine, TTSEngine)
    assert engine.name == "fake"
    assert engine.version


def test_capabilities_follow_the_constructor() -> None:
    engine = FakeEngine(name="f", sample_rate=24000, languages=["en", "de"], cloning=False)
    caps = engine.capabilities()
    assert caps.languages == frozenset({"en", "de"})
    assert caps.sample_rate == 24000
    assert caps.streaming is True
    assert caps.cloning is False


@pytest.mark.parametrize("freq", [110.0, 150.0, 300.0])
def test_voice_prompt_takes_the_pitch_of_the_reference(engine: FakeEngine, freq: float) -> None:
    prompt = engine.create_voice_prompt(tone(freq), "a transcript")
    assert prompt["pitch_hz"] == pytest.approx(freq, abs=2)
    assert prompt["transcript"] == "a transcript"
    assert json.loads(json.dumps(prompt)) == prompt


def test_voice_prompt_is_deterministic(engine: FakeEngine) -> None:
    reference = tone(180.0)
    assert engine.create_voice_prompt(reference, None) == engine.create_voice_prompt(
        reference, None
    )


def test_voice_prompt_reports_progress(engine: FakeEngine) -> None:
    seen: list[float] = []
    engine.create_voice_prompt(tone(200.0), None, progress=seen.append)
    assert seen == [0.0, 0.125, 0.25, 0.375, 0.5, 1.0]


def test_fitting_engine_says_so_and_can_fail_on_request() -> None:
    fitting = FakeEngine("fit", fitting=True)
    assert fitting.capabilities().fitting
    assert not FakeEngine("plain").capabilities().fitting
    with pytest.raises(EngineError, match="fitting failed"):
        fitting.create_voice_prompt(tone(200.0), "please FAIL")


def test_silent_reference_is_rejected(engine: FakeEngine) -> None:
    silence = Audio(np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(InvalidAudio, match="empty or silent"):
        engine.create_voice_prompt(silence, None)


def test_one_chunk_per_sentence_at_the_prompt_pitch(engine: FakeEngine) -> None:
    prompt = engine.create_voice_prompt(tone(150.0), None)
    chunks = list(engine.synthesize("Hello there. How are you? Fine!", prompt, SynthesisParams()))
    assert len(chunks) == 3
    for chunk in chunks:
        assert chunk.sample_rate == 16000
        assert chunk.samples.dtype == np.float32
        assert chunk.samples.ndim == 1
        assert 0.1 < np.max(np.abs(chunk.samples)) <= 1.0
        assert dominant_frequency(chunk) == pytest.approx(150.0, abs=10)


def test_chunk_length_grows_with_the_sentence(engine: FakeEngine) -> None:
    sentence = "This sentence is forty characters long.."
    (chunk,) = engine.synthesize(sentence, {}, SynthesisParams())
    assert chunk.duration_s == pytest.approx(SECONDS_PER_CHAR * len(sentence), abs=1e-3)
    (short,) = engine.synthesize("I", {}, SynthesisParams())
    assert short.duration_s == pytest.approx(0.1, abs=1e-3)


def test_speed_shortens_the_audio(engine: FakeEngine) -> None:
    text = "A sentence of a reasonable length."
    (normal,) = engine.synthesize(text, {}, SynthesisParams(speed=1.0))
    (fast,) = engine.synthesize(text, {}, SynthesisParams(speed=2.0))
    assert fast.duration_s == pytest.approx(normal.duration_s / 2, abs=1e-3)


def test_bad_speed_is_rejected(engine: FakeEngine) -> None:
    with pytest.raises(ValueError, match="speed must be positive, got 0"):
        engine.synthesize("Hi.", {}, SynthesisParams(speed=0.0))


def test_output_is_deterministic(engine: FakeEngine) -> None:
    prompt = engine.create_voice_prompt(tone(170.0), None)
    first = list(engine.synthesize("One. Two.", prompt, SynthesisParams()))
    second = list(engine.synthesize("One. Two.", prompt, SynthesisParams()))
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(first, second, strict=True))


def test_without_cloning_every_voice_sounds_the_same() -> None:
    engine = FakeEngine(name="fixed", cloning=False)
    prompt = engine.create_voice_prompt(tone(120.0), None)
    (chunk,) = engine.synthesize("A fixed voice speaks.", prompt, SynthesisParams())
    assert dominant_frequency(chunk) == pytest.approx(DEFAULT_PITCH_HZ, abs=10)


def test_empty_text_gives_no_chunks(engine: FakeEngine) -> None:
    assert list(engine.synthesize("  ...  ", {}, SynthesisParams())) == []


def test_unsupported_language_is_refused_before_any_audio(engine: FakeEngine) -> None:
    with pytest.raises(UnsupportedLanguage, match="supported languages: en") as info:
        engine.synthesize("Bonjour.", {}, SynthesisParams(language="fr"))
    assert info.value.details["supported"] == ["en"]


def test_fail_marker_fails_when_its_sentence_comes(engine: FakeEngine) -> None:
    chunks = engine.synthesize("This works. This will FAIL. Never reached.", {}, SynthesisParams())
    assert next(chunks).duration_s > 0
    with pytest.raises(EngineError, match="failed on purpose"):
        next(chunks)


def test_failing_can_be_turned_off() -> None:
    engine = FakeEngine(name="f", fail_marker=None)
    assert len(list(engine.synthesize("FAIL. FAIL.", {}, SynthesisParams()))) == 2


def test_delay_is_spent_per_chunk() -> None:
    engine = FakeEngine(name="slow", delay_s=0.05)
    chunks = engine.synthesize("One. Two. Three.", {}, SynthesisParams())
    started = time.perf_counter()
    assert len(list(chunks)) == 3
    assert time.perf_counter() - started >= 0.15


def test_invalid_construction() -> None:
    with pytest.raises(ValueError, match="sample_rate must be positive, got 0"):
        FakeEngine(name="f", sample_rate=0)
    with pytest.raises(ValueError, match="delay_s must not be negative"):
        FakeEngine(name="f", delay_s=-1)


def test_close_marks_the_engine_closed(engine: FakeEngine) -> None:
    engine.close()
    assert engine.closed
