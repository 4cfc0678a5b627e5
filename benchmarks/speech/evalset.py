"""The eval speech of ``../shared/eval/speech`` and the equal-error rate of speaker scores,
shared by the benchmarks that need them (cloning_quality, speech/biometrics)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxclone.core.types import Audio

REPO = Path(__file__).resolve().parents[2]
EVAL = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared")) / "eval" / "speech"


@dataclass
class Clip:
    path: str
    speaker: str
    gender: str
    transcript: str
    duration_s: float


def load_clips() -> list[Clip]:
    with (EVAL / "manifest.csv").open(newline="", encoding="utf-8") as f:
        return [
            Clip(r["path"], r["speaker"], r["gender"], r["transcript"], float(r["duration_s"]))
            for r in csv.DictReader(f)
        ]


def read(path: str) -> Audio:
    samples, rate = sf.read(EVAL / path, dtype="float32", always_2d=True)
    return Audio(np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), rate)


def equal_error_rate(same: Sequence[float], other: Sequence[float]) -> tuple[float, float]:
    """(EER, threshold): where false rejects of ``same`` (target) scores and false accepts of
    ``other`` (non-target) scores are closest, a score counting as accepted from the threshold
    up. Thresholds are tried between every two neighbouring scores; when several are equally
    good (the classes separate, or a plateau), the middle one of them is returned."""
    if not same or not other:
        raise ValueError("need both target and non-target scores")
    targets = np.sort(np.asarray(same, dtype=np.float64))
    impostors = np.sort(np.asarray(other, dtype=np.float64))
    points = np.unique(np.concatenate([targets, impostors]))
    candidates = np.concatenate(
        [[points[0] - 1e-6], (points[:-1] + points[1:]) / 2, [points[-1] + 1e-6]]
    )
    frr = np.searchsorted(targets, candidates, side="left") / len(targets)
    far = 1.0 - np.searchsorted(impostors, candidates, side="left") / len(impostors)
    gap = np.abs(frr - far)
    best = np.flatnonzero(gap <= gap.min() + 1e-12)
    pick = best[len(best) // 2]
    return float((frr[pick] + far[pick]) / 2), float(candidates[pick])
