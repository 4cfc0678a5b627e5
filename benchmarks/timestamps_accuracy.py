"""How well do the engines' own timestamps match the speech? Against Whisper's word timestamps.

    .venv/bin/python benchmarks/timestamps_accuracy.py [--engines piper,local] [--speed 1.0]
        [--whisper auto|base|tiny.en]

Each engine speaks SENTENCES (one text of several sentences, so the offsets of later chunks
and the pauses between them are part of what is measured) with ``synthesize_timed``; the
chunks are joined as the service joins them (``services.synthesis.timed.whole_file``). Whisper
(the project's ``whisper`` engine, a packaged model, ``word_timestamps``) transcribes the audio.
Words are paired by spelling (lower case, without punctuation; ``difflib`` over the two word
lists, so a word Whisper hears differently is skipped), and the table gives, per engine, the
median and 90th percentile of |engine start - Whisper start| and the mean signed difference
(positive: the engine says later than Whisper), and the median once that mean is taken off.

Whisper's word times come from its cross-attention, not from the sound: it puts a word's start
at the previous word's end, and base runs about 120 ms early where tiny.en runs 35 ms late, so
the raw figure is mostly Whisper's error.
The last two columns check both against the audio itself where a word's start can be heard
unambiguously: after a silence of at least ``MIN_GAP_S``, a word starts at the first 5 ms
frame whose level rises above ``ONSET_DB`` below the loudest frame; each such onset is paired
with the nearest word start (within 0.3 s) of the engine and of Whisper.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxclone.core.types import Audio
from voxclone.engines.alignment import words_of
from voxclone.engines.base import SynthesisParams, TimedTTSEngine, TranscribeOptions
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.synthesis.timed import whole_file

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
KOKORO = {"shared_models_dir": str(SHARED / "models" / "kokoro"), "fit": False}
ENGINES = {
    "piper": EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
    "local": EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine", options=KOKORO),
}
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
    "Yesterday afternoon, my neighbour finally repaired the old wooden fence behind his house.",
    "Please remember to bring your umbrella, because the forecast says it will rain later.",
    "Scientists have discovered a remarkable new species of frog in the tropical rainforest.",
    "Could you tell me where the nearest train station is?",
    "Our team worked late into the night to finish the project before the deadline.",
    "The museum opens at nine in the morning and closes at five in the evening.",
]
_LETTERS = re.compile(r"[^a-z0-9']")
MIN_GAP_S = 0.08
ONSET_DB = 40.0


@dataclass
class Result:
    diffs: list[float]
    """Engine start - Whisper start of each paired word, in seconds."""
    onset_ours: list[float]
    onset_whisper: list[float]


def bare(word: str) -> str:
    return _LETTERS.sub("", word.lower())


def onsets(audio: Audio) -> list[float]:
    """Where sound starts after a silence of at least MIN_GAP_S, in seconds."""
    hop = audio.sample_rate // 200
    x = audio.samples.astype(np.float64)
    frames = np.lib.stride_tricks.sliding_window_view(x, 2 * hop)[::hop]
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = level > level.max() - ONSET_DB
    quiet_run, found = 0, []
    for i, is_loud in enumerate(loud):
        if is_loud and quiet_run * hop / audio.sample_rate >= MIN_GAP_S:
            found.append(i * hop / audio.sample_rate)
        quiet_run = 0 if is_loud else quiet_run + 1
    return found


def measure(engine: TimedTTSEngine, whisper: object, speed: float) -> Result:
    text = " ".join(SENTENCES)
    chunks = list(engine.synthesize_timed(text, {}, SynthesisParams(speed=speed, temperature=0)))
    audio, alignment = whole_file(chunks)
    ours = words_of(alignment)
    heard = [
        word
        for segment in whisper.transcribe(  # type: ignore[attr-defined]
            audio, "en", TranscribeOptions(word_timestamps=True)
        ).segments
        for word in segment.words
    ]
    a = [bare(w.word) for w in ours]
    b = [bare(w.word) for w in heard]
    pairs: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            pairs[block.a + k] = block.b + k
    result = Result([ours[i].start_s - heard[j].start_s for i, j in pairs.items()], [], [])
    for onset in onsets(audio):
        i = min(range(len(ours)), key=lambda k: abs(ours[k].start_s - onset))
        if abs(ours[i].start_s - onset) <= 0.3:
            result.onset_ours.append(ours[i].start_s - onset)
            if i in pairs:
                result.onset_whisper.append(heard[pairs[i]].start_s - onset)
    return result


def ms(values: list[float]) -> str:
    return f"{statistics.median(abs(v) for v in values) * 1000:.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="piper,local")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--whisper", default="auto", help="the packaged Whisper model")
    args = parser.parse_args()
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    whisper_spec = EngineSpec(
        "whisper",
        "voxclone.engines.whisper:WhisperEngine",
        kind="stt",
        options={"packaged_model": args.whisper},
    )
    registry = EngineRegistry([*(ENGINES[n] for n in names), whisper_spec])
    whisper = registry.get_stt("whisper")
    total = sum(len(s.split()) for s in SENTENCES)
    model = getattr(whisper, "model_name", "?")
    print(f"{len(SENTENCES)} sentences, {total} words, speed {args.speed}, Whisper {model}")
    print(
        f"{'engine':<7} {'paired':>6} {'median |err| ms':>15} {'p90':>5} {'bias ms':>8} "
        f"{'median after bias':>17} {'onsets':>6} {'engine vs onset':>15} {'whisper vs onset':>16}"
    )
    for name in names:
        engine = registry.get_tts(name)
        assert isinstance(engine, TimedTTSEngine)
        got = measure(engine, whisper, args.speed)
        errors = sorted(abs(d) for d in got.diffs)
        p90 = errors[min(len(errors) - 1, int(0.9 * len(errors)))]
        bias = statistics.mean(got.diffs)
        print(
            f"{name:<7} {len(got.diffs):>6} {ms(got.diffs):>15} {p90 * 1000:>5.0f} "
            f"{bias * 1000:>+8.0f} {ms([d - bias for d in got.diffs]):>17} "
            f"{len(got.onset_ours):>6} {ms(got.onset_ours):>15} {ms(got.onset_whisper):>16}"
        )
    registry.close()


if __name__ == "__main__":
    main()
