"""Diarization error rate of ``diarize=true`` on mixed real speech from the evaluation set.

    .venv/bin/python benchmarks/diarization.py [--mixes 6] [--speakers 2,3] [--turns 6]

Each mix strings together ``--turns`` clips of 2 or 3 speakers of ``../shared/eval/speech``
(speakers and clips drawn with a fixed seed; turns alternate so no speaker follows itself),
0.6 s of silence between turns, at 16 kHz. The reference is each clip's speech (Silero VAD, as
the biometrics service uses it) labelled with its speaker. The hypothesis is what voxclone's
transcription route does: the packaged Whisper's segments, embedded with Resemblyzer and
clustered (``services/diarization.py``), with no enrolled speaker (the "unknown" case) and
again with every speaker of the mix enrolled from one other clip (names must match).

DER = (missed speech + false alarm + speaker confusion) / reference speech, frame by frame
(10 ms), with the usual 0.25 s collar around reference boundaries left out, and the best
one-to-one mapping of hypothesis labels to speakers (Hungarian). The figures also give the
share of mixes whose speaker count was found exactly.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voxclone.audio import resample
from voxclone.core.types import Audio
from voxclone.engines.speaker import ResemblyzerEmbedder
from voxclone.engines.vad import default_vad
from voxclone.engines.whisper import WhisperEngine
from voxclone.services.diarization import diarize_segments
from voxclone.services.voiceprints import combine

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "speech"
RATE = 16000
GAP_S = 0.6
FRAME_S = 0.01
COLLAR_S = 0.25
MATCH_THRESHOLD = 0.75


def load(path: Path) -> Audio:
    samples, rate = sf.read(path, dtype="float32")
    return resample(Audio(samples, rate), RATE)


def by_speaker() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    with (EVAL / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if 2.5 <= float(row["duration_s"]) <= 9.0:
                found[row["speaker"]].append(EVAL / row["path"])
    return {k: sorted(v) for k, v in found.items() if len(v) >= 4}


def mix(
    rng: np.random.Generator, pool: dict[str, list[Path]], speakers: int, turns: int
) -> tuple[Audio, list[tuple[float, float, str]], dict[str, Path]]:
    """The mixed audio, its reference (start, end, speaker) speech, and one unused clip per
    speaker for enrollment."""
    chosen = list(rng.choice(sorted(pool), size=speakers, replace=False))
    clips = {s: [pool[s][i] for i in rng.permutation(len(pool[s]))] for s in chosen}
    order = [chosen[i % speakers] for i in range(turns)]
    vad = default_vad()
    parts, reference, at = [], [], 0.0
    for speaker in order:
        audio = load(clips[speaker].pop())
        for start, end in vad.segments(audio):
            reference.append((at + start, at + end, speaker))
        parts += [audio.samples, np.zeros(int(GAP_S * RATE), np.float32)]
        at += audio.duration_s + GAP_S
    spare = {s: clips[s].pop() for s in chosen}
    return Audio(np.concatenate(parts), RATE), reference, spare


def frames(spans: list[tuple[float, float, str]], total_s: float) -> tuple[np.ndarray, list[str]]:
    names = sorted({s for _, _, s in spans})
    out = np.full(int(total_s / FRAME_S) + 1, -1)
    for start, end, who in spans:
        out[int(start / FRAME_S) : int(end / FRAME_S)] = names.index(who)
    return out, names


def der(
    reference: list[tuple[float, float, str]],
    hypothesis: list[tuple[float, float, str]],
    total_s: float,
) -> tuple[float, float, float]:
    """(missed, false alarm, confusion), each as a share of the scored reference speech."""
    ref, ref_names = frames(reference, total_s)
    hyp, hyp_names = frames(hypothesis, total_s)
    scored = np.ones(len(ref), bool)
    for start, end, _ in reference:
        for edge in (start, end):
            scored[max(0, int((edge - COLLAR_S) / FRAME_S)) : int((edge + COLLAR_S) / FRAME_S)] = 0
    ref, hyp = ref[scored], hyp[scored]
    overlap = np.zeros((len(ref_names), max(1, len(hyp_names))))
    for r in range(len(ref_names)):
        for h in range(len(hyp_names)):
            overlap[r, h] = np.sum((ref == r) & (hyp == h))
    rows, cols = linear_sum_assignment(-overlap)
    mapped = {int(h): int(r) for r, h in zip(rows, cols, strict=True)}
    speech = ref >= 0
    missed = np.sum(speech & (hyp < 0))
    false_alarm = np.sum(~speech & (hyp >= 0))
    hyp_as_ref = np.array([mapped.get(int(h), -2) if h >= 0 else -1 for h in hyp])
    confusion = np.sum(speech & (hyp >= 0) & (hyp_as_ref != ref))
    total = max(1, int(np.sum(speech)))
    return float(missed / total), float(false_alarm / total), float(confusion / total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", type=int, default=6, help="mixes per speaker count")
    parser.add_argument("--speakers", default="2,3")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = by_speaker()
    whisper = WhisperEngine(
        "whisper", data_dir=Path(tempfile.gettempdir()) / "voxclone-bench", beam_size=1
    )
    embedder = ResemblyzerEmbedder("resemblyzer")
    head = f"{'speakers':>8} {'mixes':>5} {'speech s':>9} {'DER unknown':>12} {'missed':>7} "
    head += f"{'false al.':>9} {'confusion':>9} {'DER enrolled':>13} {'count right':>12} "
    head += f"{'names right':>12}"
    lines = [head, "-" * len(head)]
    for count in (int(c) for c in args.speakers.split(",")):
        ders: list[tuple[float, float, float]] = []
        enrolled_ders: list[tuple[float, float, float]] = []
        right, named, speech = 0, 0.0, 0.0
        for _ in range(args.mixes):
            audio, reference, spare = mix(rng, pool, count, args.turns)
            speech += sum(e - s for s, e, _ in reference)
            segments = whisper.transcribe(audio, "en").segments
            prints = [(s, s, combine([embedder.embed(load(p))], [1.0])) for s, p in spare.items()]
            for enrolled in ([], prints):
                found = diarize_segments(
                    audio,
                    segments,
                    embedder=embedder,
                    enrolled=enrolled,
                    match_threshold=MATCH_THRESHOLD,
                )
                hypothesis = [
                    (seg.start_s, seg.end_s, label)
                    for seg, label in zip(segments, found.labels, strict=True)
                    if label is not None
                ]
                value = der(reference, hypothesis, audio.duration_s)
                if enrolled:
                    enrolled_ders.append(value)
                    pairs = _named_pairs(reference, hypothesis)
                    named += sum(a == b for a, b in pairs) / max(1, len(pairs))
                else:
                    ders.append(value)
                    right += len(found.speakers) == count
        missed, false_alarm, confusion = np.mean(ders, axis=0)
        lines.append(
            f"{count:>8} {args.mixes:>5} {speech:>9.1f} {np.mean(np.sum(ders, axis=1)):>12.1%} "
            f"{missed:>7.1%} {false_alarm:>9.1%} {confusion:>9.1%} "
            f"{np.mean(np.sum(enrolled_ders, axis=1)):>13.1%} {right / args.mixes:>12.0%} "
            f"{named / args.mixes:>12.0%}"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))


def _named_pairs(
    reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]]
) -> list[tuple[str, str]]:
    """(true speaker, hypothesis label) at the middle of each reference span."""
    pairs = []
    for start, end, who in reference:
        middle = (start + end) / 2
        said = [lab for s, e, lab in hypothesis if s <= middle <= e]
        if said:
            pairs.append((who, said[0]))
    return pairs


if __name__ == "__main__":
    main()
