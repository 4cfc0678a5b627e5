"""How fast does each TTS engine speak? Real-time factor and time to first audio chunk.

    .venv/bin/python benchmarks/engine_speed.py [--engines piper,local] [--runs 5] [--threads N]
        [--option local:first_chunk_words=3 ...]

Each engine is built through the EngineRegistry, warmed up with one synthesis, then timed on a
1-sentence and a 10-sentence English text. RTF is synthesis time / audio duration (below 1 is
faster than real time); "first chunk" is the time until the first sentence's audio arrives.
Both are medians over the runs, with the process CPU time per second of audio ("CPU/s") beside
them: on a shared machine wall-clock figures swing with other people's load, CPU time much less.
To add an engine, add its EngineSpec to ENGINES. ``local`` is Kokoro-82M with its defaults
(model joined into ./data/models, voices from ../shared/models/kokoro); ``--option`` sets an
engine constructor option to compare variants (ints, floats, true/false, else strings).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from voxclone.audio import decode_audio
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry, EngineSpec

ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in [
        EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
        EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine"),
        EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
    ]
}

ONE_SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."
TEN_SENTENCES = " ".join(
    [
        "Welcome to the weekly update from the engineering team.",
        "This week we finished the new storage layer and moved every service onto it.",
        "The migration took two nights, and nobody noticed any downtime.",
        "Next, we will look at speech synthesis speed on small machines.",
        "Our goal is a first chunk of audio in well under half a second.",
        "Dr. Smith from the research group will join us on Thursday.",
        "She will explain how the voice models were trained and measured.",
        "Please send your questions before Wednesday evening.",
        "If you cannot attend, the recording will be shared afterwards.",
        "Thank you all, and have a good week!",
    ]
)
TEXTS = {"1 sentence": ONE_SENTENCE, "10 sentences": TEN_SENTENCES}


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_s: float
    first_chunk_s: float
    audio_s: float
    chunks: int


@dataclass(frozen=True)
class Row:
    engine: str
    text: str
    chars: int
    chunks: int
    audio_s: float
    rtf: float
    cpu_per_s: float
    first_chunk_s: float
    load_s: float
    prompt_s: float
    """Voice prompt creation: for local, fitting Kokoro to the reference."""


REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
EVAL_SPEECH = SHARED / "eval" / "speech"


def reference_clip() -> Audio:
    """A real 5-12 s recording from the shared evaluation set, the voice every engine clones."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            if 5 <= float(row["duration_s"]) <= 12:
                return decode_audio((EVAL_SPEECH / row["path"]).read_bytes()).audio
    raise SystemExit(f"no 5-12 s clip in {EVAL_SPEECH / 'manifest.csv'}")


def synthesize_timed(
    engine: TTSEngine, text: str, prompt: VoicePrompt, params: SynthesisParams
) -> Run:
    start = time.perf_counter()
    cpu_start = time.process_time()
    first: float | None = None
    audio_s = 0.0
    chunks = 0
    for chunk in engine.synthesize(text, prompt, params):
        if first is None:
            first = time.perf_counter() - start
        audio_s += chunk.duration_s
        chunks += 1
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    if first is None or audio_s == 0:
        raise RuntimeError(f"engine {engine.name!r} produced no audio for {text[:40]!r}")
    return Run(seconds, cpu_s, first, audio_s, chunks)


def bench_engine(registry: EngineRegistry, name: str, runs: int) -> list[Row]:
    started = time.perf_counter()
    engine = registry.get_tts(name)
    load_s = time.perf_counter() - started
    clock = time.perf_counter()
    prompt = engine.create_voice_prompt(reference_clip(), None)
    prompt_s = time.perf_counter() - clock
    params = SynthesisParams()
    synthesize_timed(engine, ONE_SENTENCE, prompt, params)  # warm-up
    rows = []
    for label, text in TEXTS.items():
        timed = [synthesize_timed(engine, text, prompt, params) for _ in range(runs)]
        rows.append(
            Row(
                engine=name,
                text=label,
                chars=len(text),
                chunks=timed[0].chunks,
                audio_s=statistics.median(r.audio_s for r in timed),
                rtf=statistics.median(r.seconds / r.audio_s for r in timed),
                cpu_per_s=statistics.median(r.cpu_s / r.audio_s for r in timed),
                first_chunk_s=statistics.median(r.first_chunk_s for r in timed),
                load_s=load_s,
                prompt_s=prompt_s,
            )
        )
    return rows


def format_table(rows: list[Row], runs: int) -> str:
    header = (
        f"{'engine':<8} {'text':<13} {'chars':>5} {'chunks':>6} {'audio s':>8} "
        f"{'RTF':>7} {'CPU/s':>7} {'first chunk s':>13} {'load s':>7} {'voice s':>8}"
    )
    lines = [
        f"TTS engine speed: medians over {runs} warm runs, {os.cpu_count()} CPU cores visible",
        header,
        "-" * len(header),
    ]
    for r in rows:
        lines.append(
            f"{r.engine:<8} {r.text:<13} {r.chars:>5} {r.chunks:>6} {r.audio_s:>8.2f} "
            f"{r.rtf:>7.3f} {r.cpu_per_s:>7.3f} {r.first_chunk_s:>13.3f} {r.load_s:>7.2f} "
            f"{r.prompt_s:>8.2f}"
        )
    return "\n".join(lines)


def parse_value(text: str) -> object:
    """An option value from the command line: int, float, bool, else the string."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["piper"],
        help=f"engine names, space- or comma-separated, from: {', '.join(sorted(ENGINES))}",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, help="onnxruntime threads for piper and local")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="ENGINE:KEY=VALUE",
        help="an engine constructor option, e.g. local:int8_convs=false (repeatable)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    names = [name for arg in args.engines for name in arg.split(",") if name]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; known: {', '.join(sorted(ENGINES))}")
    specs = [ENGINES[name] for name in names]
    if args.threads is not None:
        specs = [
            replace(s, options={**s.options, "threads": args.threads})
            if s.name in ("piper", "local")
            else s
            for s in specs
        ]
    for option in args.option:
        engine, _, setting = option.partition(":")
        key, _, value = setting.partition("=")
        if engine not in names or not key or not value:
            parser.error(f"--option {option!r} is not ENGINE:KEY=VALUE for a benchmarked engine")
        specs = [
            replace(s, options={**s.options, key: parse_value(value)}) if s.name == engine else s
            for s in specs
        ]
    registry = EngineRegistry(specs)
    try:
        rows = [row for name in names for row in bench_engine(registry, name, args.runs)]
    finally:
        registry.close()
    print(format_table(rows, args.runs))


if __name__ == "__main__":
    main()
