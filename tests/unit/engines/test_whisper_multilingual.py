"""The ``whisper`` engine on the packaged multilingual Whisper base: it detects the language and
translates into English; the English-only tiny.en refuses both (test_whisper.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from tests.conftest import EVAL_SPEECH

from voxclone.core.errors import UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import Segment, TranscribeOptions
from voxclone.engines.whisper import WhisperEngine

pytestmark = pytest.mark.engine

CLIP = EVAL_SPEECH / "ljspeech/LJ/LJ001-0005.wav"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhisperEngine]:
    data_dir: Path = tmp_path_factory.mktemp("whisper-base")
    whisper = WhisperEngine("whisper", threads=2, beam_size=1, data_dir=data_dir)
    yield whisper
    whisper.close()


def test_base_is_multilingual_and_translates(engine: WhisperEngine) -> None:
    assert engine.model_name == "base" and "base" in engine.version
    assert engine.multilingual and engine.can_translate
    assert {"en", "de", "fr", "es", "ja", "zh"} <= set(engine.languages)


def test_detects_english_and_streams_segments(engine: WhisperEngine) -> None:
    samples, rate = sf.read(CLIP, dtype="float32")
    seen: list[Segment] = []
    result = engine.transcribe(
        Audio(samples, rate), None, TranscribeOptions(on_segment=seen.append)
    )
    assert result.language == "en"
    assert "contradistinguished" in result.text.lower() or "art" in result.text.lower()
    assert seen and tuple(seen) == result.segments


def test_unknown_task_and_language_are_refused(engine: WhisperEngine) -> None:
    samples, rate = sf.read(CLIP, dtype="float32")
    with pytest.raises(UnsupportedLanguage, match="cannot summarize"):
        engine.transcribe(Audio(samples, rate), None, TranscribeOptions(task="summarize"))
    with pytest.raises(UnsupportedLanguage, match="does not know language"):
        engine.transcribe(Audio(samples, rate), "xx")
