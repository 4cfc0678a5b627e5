"""Clustering and labelling of diarization, on made-up embeddings (the real embedder and speech
are in tests/e2e/test_diarization.py)."""

from __future__ import annotations

import numpy as np
import pytest

from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import Segment
from voxclone.services.diarization import _letters, cluster, diarize_segments


def unit(*values: float) -> FloatArray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


class LoudnessEmbedder:
    """Embeds a clip by its level: clips at 0.1 and at 0.5 are two "voices"."""

    name = "fake"
    version = "1"

    def embed(self, audio: Audio) -> FloatArray:
        level = float(np.abs(audio.samples).mean())
        return unit(1.0, 0.0) if level < 0.3 else unit(0.0, 1.0)

    def close(self) -> None:
        pass


def test_close_vectors_merge_and_far_ones_do_not() -> None:
    vectors = np.stack([unit(1, 0.1), unit(0, 1), unit(1, 0), unit(0.1, 1), unit(-1, 0)])
    assert cluster(vectors, [1.0] * 5, threshold=0.9) == [0, 1, 0, 1, 2]
    assert cluster(vectors, [1.0] * 5, threshold=-1.0) == [0, 0, 0, 0, 0]
    assert cluster(vectors[:1], [1.0], threshold=0.9) == [0]


def test_letters_go_on_past_z() -> None:
    assert [_letters(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


def test_segments_are_labelled_and_an_enrolled_voice_is_named() -> None:
    rate = 1000
    samples = np.concatenate([np.full(2000, 0.1), np.full(2000, 0.5), np.full(2000, 0.1)])
    audio = Audio(samples.astype(np.float32), rate)
    segments = [
        Segment(0.0, 2.0, "one"),
        Segment(2.0, 4.0, "two"),
        Segment(4.0, 4.3, "hm"),  # too short to embed: the nearest segment's voice
        Segment(4.3, 6.0, "three"),
        Segment(5.0, 5.0, " "),
    ]
    found = diarize_segments(
        audio, segments, embedder=LoudnessEmbedder(), enrolled=[], match_threshold=0.75
    )
    assert found.labels == ("A", "B", "A", "A", None)
    assert [(s.label, s.segments) for s in found.speakers] == [("A", 3), ("B", 1)]
    assert found.speakers[0].speech_s == pytest.approx(4.0)
    named = diarize_segments(
        audio,
        segments,
        embedder=LoudnessEmbedder(),
        enrolled=[("spk-1", "Ben", [0.0, 1.0])],
        match_threshold=0.75,
    )
    assert named.labels == ("A", "Ben", "A", "A", None)
    ben = next(s for s in named.speakers if s.label == "Ben")
    assert ben.speaker_id == "spk-1" and ben.score == 1.0
