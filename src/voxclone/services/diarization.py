"""Who spoke when in a transcript: each segment's voice embedded with the biometrics embedder,
the segments clustered by voice, and clusters that match an enrolled speaker named after it.

Clustering is agglomerative on cosine similarity: the two closest clusters (by their
speech-weighted centroids) merge while they are at least ``CLUSTER_THRESHOLD`` alike. Unknown
voices are labelled ``A``, ``B``… in order of first appearance (as OpenAI's diarized
transcripts are); a cluster whose centroid scores at least the biometrics threshold against an
enrolled speaker's print takes that speaker's name and id. Segments too short to embed
(``MIN_EMBED_S``) take the label of the nearest embedded segment in time.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import Embedder, Segment
from voxclone.services import voiceprints

CLUSTER_THRESHOLD = 0.70
"""Two voices' centroids at least this alike are one speaker (Resemblyzer: one real speaker's
clips score 0.87–0.89, two speakers of one gender 0.55–0.58; single segments score lower)."""
MIN_EMBED_S = 0.8
EnrolledPrint = tuple[str, str, Sequence[float] | FloatArray]
"""(speaker id, name, print) of an enrolled speaker."""


@dataclass(frozen=True, slots=True)
class DiarizedSpeaker:
    label: str
    speaker_id: str | None
    """The enrolled speaker it matched, or None for an unknown voice."""
    name: str | None
    score: float | None
    """The centroid's cosine with the matched print."""
    speech_s: float
    segments: int


@dataclass(frozen=True, slots=True)
class Diarization:
    labels: tuple[str | None, ...]
    """One per transcript segment (None: the transcript had no voice to embed)."""
    speakers: tuple[DiarizedSpeaker, ...]


def cluster(vectors: FloatArray, weights: Sequence[float], *, threshold: float) -> list[int]:
    """A cluster number per row of ``vectors`` (unit embeddings), numbered by first row."""
    n = len(vectors)
    sums = [np.asarray(v, dtype=np.float64) * w for v, w in zip(vectors, weights, strict=True)]
    owner = list(range(n))
    active = list(range(n))
    while len(active) > 1:
        cents = np.stack([sums[a] / max(float(np.linalg.norm(sums[a])), 1e-12) for a in active])
        sim = cents @ cents.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
        if sim[i, j] < threshold:
            break
        keep, gone = active[min(i, j)], active[max(i, j)]
        sums[keep] = sums[keep] + sums[gone]
        owner = [keep if o == gone else o for o in owner]
        active.remove(gone)
    numbers: dict[int, int] = {}
    return [numbers.setdefault(o, len(numbers)) for o in owner]


def label_clusters(
    clusters: list[int],
    vectors: FloatArray,
    weights: Sequence[float],
    enrolled: Sequence[EnrolledPrint],
    *,
    match_threshold: float,
) -> dict[int, tuple[str, str | None, str | None, float | None]]:
    """Cluster number -> (label, speaker id, name, score)."""
    found: dict[int, tuple[str, str | None, str | None, float | None]] = {}
    unknown = 0
    for number in sorted(set(clusters)):
        rows = [i for i, c in enumerate(clusters) if c == number]
        centroid = voiceprints.combine([vectors[i] for i in rows], [weights[i] for i in rows])
        best: tuple[float, EnrolledPrint | None] = (-1.0, None)
        for entry in enrolled:
            value = voiceprints.score(entry[2], centroid)
            if value > best[0]:
                best = (value, entry)
        if best[1] is not None and best[0] >= match_threshold:
            speaker_id, name, _ = best[1]
            found[number] = (name, speaker_id, name, round(best[0], 4))
        else:
            found[number] = (_letters(unknown), None, None, None)
            unknown += 1
    return found


def diarize_segments(
    audio: Audio,
    segments: Sequence[Segment],
    *,
    embedder: Embedder,
    enrolled: Sequence[EnrolledPrint],
    match_threshold: float,
    threshold: float = CLUSTER_THRESHOLD,
) -> Diarization:
    """Label each of ``segments`` (times in ``audio``) with its speaker."""
    spoken = [
        i for i, s in enumerate(segments) if s.text.strip() and s.end_s - s.start_s >= MIN_EMBED_S
    ]
    if not spoken:
        return Diarization(labels=tuple(None for _ in segments), speakers=())
    vectors = np.stack(
        [
            embedder.embed(voiceprints.clip(audio, segments[i].start_s, segments[i].end_s))
            for i in spoken
        ]
    )
    weights = [segments[i].end_s - segments[i].start_s for i in spoken]
    clusters = cluster(vectors, weights, threshold=threshold)
    named = label_clusters(clusters, vectors, weights, enrolled, match_threshold=match_threshold)
    of_segment = dict(zip(spoken, clusters, strict=True))
    labels: list[str | None] = []
    for i, segment in enumerate(segments):
        if not segment.text.strip():
            labels.append(None)
            continue
        nearest = of_segment.get(i)
        if nearest is None:
            middle = (segment.start_s + segment.end_s) / 2
            closest = min(spoken, key=lambda k: abs(_middle(segments[k]) - middle))
            nearest = of_segment[closest]
        labels.append(named[nearest][0])
    return Diarization(labels=tuple(labels), speakers=_summary(segments, labels, named))


async def diarize(
    audio: Audio,
    segments: Sequence[Segment],
    *,
    embedder: Embedder,
    enrolled: Sequence[EnrolledPrint],
    match_threshold: float,
) -> Diarization:
    """``diarize_segments`` off the event loop (embedding is CPU work)."""
    return await asyncio.to_thread(
        lambda: diarize_segments(
            audio, segments, embedder=embedder, enrolled=enrolled, match_threshold=match_threshold
        )
    )


def _summary(
    segments: Sequence[Segment],
    labels: Sequence[str | None],
    named: dict[int, tuple[str, str | None, str | None, float | None]],
) -> tuple[DiarizedSpeaker, ...]:
    out = []
    for label, speaker_id, name, score in {v[0]: v for v in named.values()}.values():
        mine = [s for s, lab in zip(segments, labels, strict=True) if lab == label]
        if mine:
            speech = round(sum(s.end_s - s.start_s for s in mine), 3)
            out.append(DiarizedSpeaker(label, speaker_id, name, score, speech, len(mine)))
    out.sort(key=lambda s: -s.speech_s)
    return tuple(out)


def _middle(segment: Segment) -> float:
    return (segment.start_s + segment.end_s) / 2


def _letters(index: int) -> str:
    """A, B, … Z, AA, AB, …"""
    letters = string.ascii_uppercase
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = letters[rest] + text
    return text
