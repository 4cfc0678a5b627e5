"""Where does Kokoro's CPU time go? Share of onnxruntime kernel time per operator type.

    .venv/bin/python benchmarks/kokoro_profile.py [--runs 4] [--voice af_heart] [--text "..."]

Builds the ``local`` engine as the server does (the rewritten graph from its data dir, made on
first use), runs one sentence ``--runs`` times through a profiling onnxruntime session on the
same graph with the same threads (it reaches into the engine for them, as a profiler may), and
prints one table: each operator type's share of the kernel time, its milliseconds per run and
nanoseconds per element of its first input. The vocoder's AdaIN and Snake activations are one
``AdaINSnake`` node each where the fused operators run (``--no-fused``: the graph without them,
where they are its ReduceMean, Sub, Div, Sin, Mul and Add nodes).
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.kokoro_ops import build_library

TEXT = "The quick brown fox jumps over the lazy dog near the quiet river bank."


def profile(engine: KokoroEngine, text: str, voice: str, runs: int) -> list[dict[str, Any]]:
    """The profiler's events for ``runs`` runs of ``text`` (after one warm-up run)."""
    import onnxruntime

    graph = engine._session._model_path  # the graph the engine runs
    lang = engine._language("en-us")
    tokens = [engine._vocab[p] for p in engine._phonemize(text, lang) if p in engine._vocab]
    style = engine.stock_voices()[voice][len(tokens) - 1].reshape(1, 256)
    feeds = {
        engine._tokens_input: np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": style.astype(np.float32),
        "speed": np.array([1.0], dtype=np.float32),
    }
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = engine._session.get_session_options().intra_op_num_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = True
    if engine.fused_ops:  # the graph needs the fused operators
        options.register_custom_ops_library(str(build_library(engine._data_dir / "native")))
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / "kokoro")
        session = onnxruntime.InferenceSession(
            graph, sess_options=options, providers=["CPUExecutionProvider"]
        )
        for _ in range(runs + 1):
            session.run(None, feeds)
        events: list[dict[str, Any]] = json.loads(Path(session.end_profiling()).read_text())
    # the first run is a warm-up: drop every event until its model_run ends
    first = next(e for e in events if e.get("name") == "model_run")
    return [e for e in events if e["ts"] > first["ts"] + first["dur"]]


def table(events: list[dict[str, Any]], runs: int) -> str:
    time_us: collections.Counter[str] = collections.Counter()
    elements: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        op = event["args"].get("op_name", "?")
        time_us[op] += event["dur"]
        shapes = event["args"].get("input_type_shape") or [{}]
        elements[op] += sum(int(np.prod(shape)) for shape in shapes[0].values())
    total = sum(time_us.values())
    lines = [
        f"Kokoro kernel time by operator: {total / runs / 1000:.0f} ms per run, {runs} runs",
        f"{'operator':<24} {'share':>6} {'ms/run':>8} {'ns/elem':>8}",
        "-" * 49,
    ]
    for op, us in time_us.most_common(15):
        per_element = us * 1000 / elements[op] if elements[op] else float("nan")
        lines.append(
            f"{op:<24} {100 * us / total:>5.1f}% {us / runs / 1000:>8.1f} {per_element:>8.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--voice", default="af_heart")
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--data-dir", default="data", help="where the engine keeps its graph")
    parser.add_argument("--no-fused", action="store_true", help="without the fused operators")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    engine = KokoroEngine("local", data_dir=args.data_dir, fit=False, fused_ops=not args.no_fused)
    try:
        events = profile(engine, args.text, args.voice, args.runs)
    finally:
        engine.close()
    print(table(events, args.runs))


if __name__ == "__main__":
    main()
