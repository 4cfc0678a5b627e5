"""Property-based: whatever bytes or text arrive, the audio decoder and the text front-ends
(sentence splitting, normalisation, Piper's and Kokoro's G2P through synthesis) give a result
or a typed VoxcloneError, never another exception (which the API would answer with a 500)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxclone.audio import decode_audio
from voxclone.core.errors import VoxcloneError
from voxclone.engines.base import SynthesisParams
from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.piper import PiperEngine
from voxclone.engines.text import normalize_text, split_sentences

REPO = Path(__file__).resolve().parents[2]
KOKORO_DIR = (
    Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "models" / "kokoro"
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def encoded(fmt: str, subtype: str | None = None) -> bytes:
    t = np.arange(8000) / 16000
    out = io.BytesIO()
    sf.write(
        out,
        (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32),
        16000,
        format=fmt,
        subtype=subtype,
    )
    return out.getvalue()


SEEDS = [encoded("WAV", "PCM_16"), encoded("FLAC"), encoded("OGG", "VORBIS"), encoded("MP3")]


@st.composite
def damaged_audio(draw: st.DrawFn) -> bytes:
    """A real file of each format, cut, overwritten or extended at random places."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data) - 1))
        data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data) + draw(st.binary(max_size=64))


@FAST
@given(st.one_of(st.binary(max_size=2048), damaged_audio()))
def test_any_bytes_decode_or_fail_with_a_typed_error(data: bytes) -> None:
    try:
        decoded = decode_audio(data, max_seconds=60)
    except VoxcloneError:
        return
    samples = decoded.audio.samples
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert decoded.audio.sample_rate > 0
    assert np.isfinite(samples).all()


@FAST
@given(st.text(max_size=2000), st.integers(20, 400))
def test_sentence_splitting_never_fails_and_loses_no_words(text: str, max_chars: int) -> None:
    normalized = normalize_text(text)
    sentences = split_sentences(normalized, max_chars=max_chars)
    assert all(isinstance(s, str) and s.strip() for s in sentences)

    # Sentences with nothing to say (":", "…") are dropped; no letter or digit is.
    def spoken(t: str) -> str:
        return "".join(ch for ch in t if ch.isalnum())

    assert spoken("".join(sentences)) == spoken(normalized)


SPEAKABLE = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60
)


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperEngine]:
    engine = PiperEngine(name="piper")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KokoroEngine]:
    engine = KokoroEngine(
        name="local",
        data_dir=tmp_path_factory.mktemp("kokoro"),
        shared_models_dir=KOKORO_DIR,
        fit=False,
    )
    yield engine
    engine.close()


def speak(
    engine: PiperEngine | KokoroEngine, prompt: dict[str, object], text: str, lang: str
) -> None:
    try:
        chunks = list(engine.synthesize(text, prompt, SynthesisParams(language=lang)))
    except VoxcloneError:
        return
    for chunk in chunks:
        assert np.isfinite(chunk.samples).all()


@pytest.mark.engine
@SLOW
@given(text=SPEAKABLE)
def test_piper_speaks_any_text_or_fails_with_a_typed_error(piper: PiperEngine, text: str) -> None:
    speak(piper, {"engine": "piper", "voice": "en_US-joe-medium"}, text, "en")


@pytest.mark.engine
@SLOW
@given(text=SPEAKABLE, lang=st.sampled_from(["en", "en-gb", "es", "fr", "ja", "zh", "hi"]))
def test_kokoro_speaks_any_text_or_fails_with_a_typed_error(
    kokoro: KokoroEngine, text: str, lang: str
) -> None:
    speak(kokoro, {"kind": "kokoro", "version": 1, "blend": {"af_heart": 1.0}}, text, lang)
