from __future__ import annotations

import numpy as np
import pytest

from voxclone.core.errors import InsufficientSpeech, UnknownBackend
from voxclone.core.types import Audio
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services import voiceprints


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


class FixedVad:
    def __init__(self, segments: list[tuple[float, float]]) -> None:
        self._segments = segments

    def segments(self, audio: Audio) -> list[tuple[float, float]]:
        return self._segments


class LengthEmbedder:
    """Embeds audio as a vector that records how many samples it was given."""

    name = "length"
    version = "1"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def embed(self, audio: Audio) -> np.ndarray:
        self.seen.append(len(audio.samples))
        return unit(1.0, 0.0)

    def close(self) -> None:
        pass


def test_combine_weights_by_speech_and_normalises() -> None:
    combined = voiceprints.combine([unit(1, 0), unit(0, 1)], [3.0, 1.0])
    assert np.linalg.norm(combined) == pytest.approx(1.0, abs=1e-6)
    assert combined[0] == pytest.approx(3 / np.sqrt(10), abs=1e-6)
    with pytest.raises(ValueError, match="as many weights"):
        voiceprints.combine([unit(1, 0)], [1.0, 2.0])
    with pytest.raises(ValueError, match="zero"):
        voiceprints.combine([unit(1, 0), unit(-1, 0)], [1.0, 1.0])


def test_score_is_cosine_of_stored_print() -> None:
    assert voiceprints.score([2.0, 0.0], unit(1, 1)) == pytest.approx(np.sqrt(0.5))
    assert voiceprints.score([0.0, 0.0], unit(1, 0)) == 0.0


def test_merge_gaps_and_windows() -> None:
    merged = voiceprints.merge_gaps([(0.0, 1.0), (1.2, 2.0), (3.0, 9.5), (9.55, 9.8)], gap_s=0.3)
    assert merged == [(0.0, 2.0), (3.0, 9.8)]
    spans = voiceprints.windows([(0.0, 2.0), (3.0, 9.8), (10.0, 10.3)], window_s=3.0)
    assert spans[0] == (0, 0.0, 2.0)
    later = [s for s in spans if s[0] == 1]
    assert len(later) == 3  # 6.8 s in three windows of 2.27 s: at most 3 s, more than 1.5 s
    assert all(1.5 < end - start <= 3.0 for _, start, end in later)
    assert later[0][1] == 3.0 and later[-1][2] == pytest.approx(9.8)
    assert all(s[0] != 2 for s in spans)  # 0.3 s is too short to embed


def test_embed_speech_cuts_to_speech_and_refuses_too_little() -> None:
    audio = Audio(np.zeros(16000 * 4, dtype=np.float32), 16000)
    embedder = LengthEmbedder()
    found = voiceprints.embed_speech(
        audio, embedder=embedder, vad=FixedVad([(0.5, 1.5), (2.0, 2.5)]), min_speech_s=1.0
    )
    assert found.speech_s == pytest.approx(1.5) and found.duration_s == 4.0
    assert embedder.seen == [int(1.15 * 16000) + 8000]  # the pause is shortened to 0.15 s
    with pytest.raises(InsufficientSpeech) as caught:
        voiceprints.embed_speech(
            audio, embedder=embedder, vad=FixedVad([(0.0, 0.4)]), min_speech_s=1.0
        )
    assert caught.value.details["speech_s"] == 0.4
    assert "0.40 s of speech in 4.00 s" in caught.value.message


def test_registry_gives_embedders_by_kind() -> None:
    registry = EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("length", "tests.unit.services.test_voiceprints:Named", kind="embed"),
        ]
    )
    assert registry.names("embed") == ["length"]
    with pytest.raises(UnknownBackend, match="not a speaker-embedding engine"):
        registry.get_embedder("fake")
    assert registry.get_embedder("length").name == "length"


class Named(LengthEmbedder):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
