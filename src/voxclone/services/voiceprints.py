"""Voice prints from audio: the speech that VAD finds, embedded, combined and compared.

No database and no HTTP here, so the calibration benchmark measures exactly what the service
does. Embeddings are unit vectors, so a score is their dot product (the cosine similarity).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voxclone.core.errors import InsufficientSpeech
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import Embedder

KEEP_GAP_S = 0.15
"""Of each pause between speech segments, this much is kept when speech is cut out."""
MIN_WINDOW_S = 0.5
"""Speech shorter than this is not embedded in a job (too short to tell anyone apart)."""


class SpeechDetector(Protocol):
    def segments(self, audio: Audio) -> list[tuple[float, float]]:
        """Where ``audio`` holds speech, as (start_s, end_s) pairs in order."""
        ...


@dataclass(frozen=True, slots=True)
class SpeechPrint:
    """The embedding of the speech in one clip, and how much speech it was made from."""

    vector: FloatArray
    speech_s: float
    duration_s: float


def speech_seconds(segments: Sequence[tuple[float, float]]) -> float:
    return float(sum(end - start for start, end in segments))


def cut_speech(audio: Audio, segments: Sequence[tuple[float, float]]) -> Audio:
    """The speech segments of ``audio`` joined, with pauses shortened to ``KEEP_GAP_S``."""
    rate = audio.sample_rate
    parts = []
    for i, (start, end) in enumerate(segments):
        if i + 1 < len(segments):
            end = min(segments[i + 1][0], end + KEEP_GAP_S)
        parts.append(audio.samples[int(start * rate) : int(end * rate)])
    if not parts:
        return Audio(np.zeros(0, dtype=np.float32), rate)
    return Audio(np.concatenate(parts).astype(np.float32, copy=False), rate)


def embed_speech(
    audio: Audio,
    *,
    embedder: Embedder,
    vad: SpeechDetector,
    min_speech_s: float,
    what: str = "the audio",
) -> SpeechPrint:
    """Embed the speech in ``audio``; InsufficientSpeech when VAD finds under ``min_speech_s``."""
    segments = vad.segments(audio)
    speech_s = speech_seconds(segments)
    if speech_s < min_speech_s:
        raise InsufficientSpeech(
            f"{what} holds {speech_s:.2f} s of speech in {audio.duration_s:.2f} s; at least "
            f"{min_speech_s:g} s of speech is needed (silence and noise do not count)",
            speech_s=round(speech_s, 3),
            duration_s=round(audio.duration_s, 3),
            min_speech_s=min_speech_s,
        )
    vector = embedder.embed(cut_speech(audio, segments))
    return SpeechPrint(vector=vector, speech_s=speech_s, duration_s=audio.duration_s)


def combine(vectors: Sequence[FloatArray], weights: Sequence[float]) -> FloatArray:
    """The unit-length weighted mean of unit ``vectors`` (a speaker's print)."""
    if not vectors or len(vectors) != len(weights):
        raise ValueError(f"need as many weights as vectors, got {len(vectors)} and {len(weights)}")
    stacked = np.stack([np.asarray(v, dtype=np.float64) for v in vectors])
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative and not all zero, got {list(weights)}")
    mean = (stacked * w[:, np.newaxis]).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        raise ValueError("the weighted mean of the vectors is zero")
    unit: FloatArray = (mean / norm).astype(np.float32)
    return unit


def score(print_: Sequence[float] | FloatArray, vector: FloatArray) -> float:
    """Cosine similarity of a stored print and a unit embedding, in [-1, 1]."""
    stored = np.asarray(print_, dtype=np.float64)
    norm = float(np.linalg.norm(stored))
    if norm == 0.0:
        return 0.0
    return float(np.clip(stored @ np.asarray(vector, dtype=np.float64) / norm, -1.0, 1.0))


def merge_gaps(
    segments: Sequence[tuple[float, float]], *, gap_s: float
) -> list[tuple[float, float]]:
    """Join segments separated by less than ``gap_s``."""
    merged: list[tuple[float, float]] = []
    for start, end in segments:
        if merged and start - merged[-1][1] < gap_s:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def windows(
    segments: Sequence[tuple[float, float]], *, window_s: float
) -> list[tuple[int, float, float]]:
    """Each segment cut into equal windows of at most ``window_s`` (more than half of it when
    the segment is longer), as (segment index, start_s, end_s); segments shorter than
    ``MIN_WINDOW_S`` are left out."""
    out: list[tuple[int, float, float]] = []
    for index, (start, end) in enumerate(segments):
        length = end - start
        if length < MIN_WINDOW_S:
            continue
        count = max(1, math.ceil(length / window_s))
        step = length / count
        out.extend((index, start + i * step, start + (i + 1) * step) for i in range(count))
    return out


def clip(audio: Audio, start_s: float, end_s: float) -> Audio:
    rate = audio.sample_rate
    return Audio(audio.samples[int(start_s * rate) : int(end_s * rate)], rate)
