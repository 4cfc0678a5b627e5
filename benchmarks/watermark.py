"""How robust, how quiet and how cheap is the audio watermark (docs/watermark.md)?

    nice .venv/bin/python benchmarks/watermark.py [--clips 40] [--piper 10] [--strength 0.2]

Marks real speech (the evaluation recordings in ../shared/eval/speech, and Piper's output for
their transcripts) with a random 48-bit payload each, then for every transformation it must
survive (tests/watermark_attacks.py: MP3 and Opus at 64 kbit/s, resampling to 16 kHz, ±3 dB,
a 10 % trim at the start, the end, or 5 % at both) counts the clips whose payload reads back
exactly. False positives: detection on every unmarked recording whole and in 5 s windows
(hop 2.5 s). Audibility: the SNR of the added signal, and PESQ (wide band, 16 kHz) of the
marked audio against the original. Cost: embedding and detection time over audio time (RTF),
on one core of this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from speech.evalset import load_clips, read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.watermark_attacks
from tests.watermark_attacks import ATTACKS

from voxclone.audio import resample
from voxclone.audio import watermark as mark
from voxclone.core.types import Audio


def piper_clips(texts: list[str]) -> list[tuple[str, Audio]]:
    from voxclone.engines.base import SynthesisParams
    from voxclone.engines.piper import PiperEngine

    engine = PiperEngine(name="piper")
    try:
        made = []
        for i, text in enumerate(texts):
            chunks = list(engine.synthesize(text, {}, SynthesisParams()))
            made.append((f"piper/{i}", Audio.concatenate(chunks)))
        return made
    finally:
        engine.close()


def pesq_wb(reference: Audio, degraded: Audio) -> float | None:
    try:
        from pesq import pesq
    except ImportError:  # pip install pesq (the bench extra)
        return None
    ref = resample(reference, 16_000).samples
    deg = resample(degraded, 16_000).samples
    return float(pesq(16_000, ref, deg, "wb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=40, help="evaluation recordings marked")
    parser.add_argument("--piper", type=int, default=10, help="Piper renderings marked")
    parser.add_argument("--strength", type=float, default=0.2)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    clips = [c for c in load_clips() if c.duration_s >= 3.0]
    chosen = clips[:: max(1, len(clips) // args.clips)][: args.clips]
    marked_set = [(c.path, read(c.path)) for c in chosen]
    texts = [c.transcript.capitalize() for c in clips if len(c.transcript) > 60][: args.piper]
    marked_set += piper_clips(texts)

    hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[str, int] = defaultdict(int)
    snr, pesq_scores, embed_s, detect_s, audio_s = [], [], 0.0, 0.0, 0.0
    by_length: dict[str, list[bool]] = defaultdict(list)
    for name, audio in marked_set:
        group = "piper" if name.startswith("piper/") else "speech"
        payload = int(rng.integers(0, 1 << 48))
        started = time.perf_counter()
        marked = mark.embed(audio, payload, strength=args.strength)
        embed_s += time.perf_counter() - started
        audio_s += audio.duration_s
        added = marked.samples - audio.samples
        snr.append(10 * np.log10(np.sum(audio.samples**2) / max(np.sum(added**2), 1e-20)))
        score = pesq_wb(audio, marked)
        if score is not None:
            pesq_scores.append(score)
        counts[group] += 1
        for attack, transform in ATTACKS.items():
            copy = transform(marked)
            started = time.perf_counter()
            found = mark.detect(copy)
            if attack == "none":
                detect_s += time.perf_counter() - started
            ok = found.detected and found.payload == payload
            hits[attack][group] += ok
            if attack == "mp3_64k":
                bucket = (
                    "<4 s" if audio.duration_s < 4 else "4-8 s" if audio.duration_s < 8 else ">=8 s"
                )
                by_length[bucket].append(ok)

    windows = false = 0
    for clip in load_clips():
        audio = read(clip.path)
        step, size = int(2.5 * audio.sample_rate), int(5 * audio.sample_rate)
        pieces = [audio] + [
            Audio(audio.samples[i : i + size], audio.sample_rate)
            for i in range(0, max(1, audio.samples.size - size + 1), step)
        ]
        for piece in pieces:
            windows += 1
            false += mark.detect(piece).detected

    total = sum(counts.values())
    made = f"{counts['speech']} recordings, {counts['piper']} Piper renderings"
    print(f"watermark strength {args.strength}: {made}")
    print(f"{'transformation':<16} {'speech':>10} {'piper':>10} {'all':>10}")
    for attack in ATTACKS:
        row = hits[attack]
        cells = [f"{row[g] / counts[g]:.0%}" if counts[g] else "-" for g in ("speech", "piper")]
        print(f"{attack:<16} {cells[0]:>10} {cells[1]:>10} {sum(row.values()) / total:>10.0%}")
    for bucket in ("<4 s", "4-8 s", ">=8 s"):
        got = by_length.get(bucket, [])
        if got:
            print(f"mp3_64k, clips {bucket:<6}: {np.mean(got):.0%} of {len(got)}")
    print(f"false positives: {false} of {windows} unmarked recordings and 5 s windows")
    print(f"SNR of the mark: median {np.median(snr):.1f} dB (min {np.min(snr):.1f})")
    if pesq_scores:
        low, mid = np.min(pesq_scores), np.median(pesq_scores)
        print(f"PESQ wb marked vs original: median {mid:.2f} (min {low:.2f})")
    else:
        print("PESQ: not installed (pip install pesq)")
    rtf = f"embed {embed_s / audio_s:.4f}, detect {detect_s / audio_s:.4f}"
    print(f"RTF: {rtf} ({audio_s:.0f} s of audio)")


if __name__ == "__main__":
    main()
