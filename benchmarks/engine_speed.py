"""How fast does each TTS engine speak? Real-time factor and time to first audio chunk.

    .venv/bin/python benchmarks/engine_speed.py [--engines piper,local] [--runs 5] [--threads N]
        [--option local:first_chunk_words=3 ...]

Each engine is built through the EngineRegistry, clones a real reference clip, is warmed up,
then timed on a 1-sentence and a 10-sentence English text (``voxclone.services.bench``, which
``voxclone bench`` runs on a deployment's configured engines). To add an engine, add its
EngineSpec to ENGINES. ``local`` is Kokoro-82M with its defaults (model joined into
./data/models, voices from ../shared/models/kokoro); ``--option`` sets an engine constructor
option to compare variants (ints, floats, true/false, else strings).
"""

from __future__ import annotations

import argparse
import csv
import os
from dataclasses import replace
from pathlib import Path

from voxclone.audio import decode_audio
from voxclone.core.types import Audio
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.bench import Row, format_table, measure_engine

ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in [
        EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
        EngineSpec("local", "voxclone.engines.kokoro:KokoroEngine"),
        EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
    ]
}

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


def bench_engine(registry: EngineRegistry, name: str, runs: int) -> list[Row]:
    return measure_engine(lambda: registry.get_tts(name), runs=runs, reference=reference_clip())


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
