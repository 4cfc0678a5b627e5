"""Which Kokoro runtime is fastest here? RTF and first audio of the ``local`` engine's variants.

    .venv/bin/python benchmarks/kokoro_speed.py [--runs 3] [--variants stock,fused,openvino-int8]

Each variant is the ``local`` engine (stock voice, no fitting) on the same texts as
``voxclone bench`` (1 and 10 sentences), warmed up, then timed ``--runs`` times; the table gives
medians (``services.bench``):

- ``stock``: the rewritten graph without the fused operators (``fused_ops=False``);
- ``fused``: the default, with the vocoder's AdaIN + Snake fused (``kokoro_ops``);
- ``openvino-int8`` / ``openvino-float``: OpenVINO's CPU runtime on the int8 export as it is
  and on the float-convolution rewrite (``pip install openvino``; the engine's text front end
  and chunking, only the graph runs elsewhere). OpenVINO cannot read the ``s8c1`` graph
  (per-channel ``QLinearConv`` scales), so these are the nearest graphs it can run.

Wall-clock figures swing with other load on a shared machine; CPU s per audio s swings less.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.kokoro_assets import fast_model, file_sha256, resolve_model
from voxclone.services.bench import Row, format_table, measure_engine

VARIANTS = ("stock", "fused", "openvino-int8", "openvino-float")


class OpenVinoSession:
    """The part of an onnxruntime session the engine calls, run by OpenVINO's CPU plugin."""

    def __init__(self, graph: Path, threads: int) -> None:
        import openvino

        core = openvino.Core()
        self._model = core.compile_model(
            core.read_model(str(graph)),
            "CPU",
            {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
        )
        self._request = self._model.create_infer_request()
        self._outputs = list(self._model.outputs)

    def run(self, _names: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = self._request.infer(feeds)
        return [np.asarray(result[out]) for out in self._outputs]


def build(variant: str, data_dir: Path, threads: int) -> KokoroEngine:
    engine = KokoroEngine(
        variant, data_dir=data_dir, threads=threads, fit=False, fused_ops=variant == "fused"
    )
    if variant.startswith("openvino"):
        model = resolve_model(None, data_dir)
        graph = model
        if variant == "openvino-float":
            graph = fast_model(model, data_dir, digest=file_sha256(model), int8_convs=False)
        engine._session = OpenVinoSession(graph, threads)  # the benchmark reaches in
        engine.timed = False
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default="stock,fused", help=f"from {', '.join(VARIANTS)}")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or args.runs < 1:
        parser.error(f"unknown variants {unknown} (known: {', '.join(VARIANTS)}) or --runs < 1")
    rows: list[Row] = []
    for variant in variants:
        rows += measure_engine(
            lambda variant=variant: build(variant, args.data_dir, args.threads), runs=args.runs
        )
    print(format_table(rows, args.runs))


if __name__ == "__main__":
    main()
