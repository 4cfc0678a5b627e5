"""The fused Kokoro vocoder operators: built with the host's C compiler, checked against their
definition and against the graph nodes they replace, and the engine's fallback without them.

The build tests need a C compiler (CI has gcc); without one they are skipped, and the fallback
tests still run."""

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnx import ModelProto, NodeProto, TensorProto, helper, numpy_helper

from voxclone.core.errors import EngineUnavailable
from voxclone.engines.base import SynthesisParams
from voxclone.engines.kokoro import KokoroEngine
from voxclone.engines.kokoro_assets import VOICES_FILE
from voxclone.engines.kokoro_fusion import FUSION, fuse_vocoder
from voxclone.engines.kokoro_ops import (
    DOMAIN,
    NATIVE,
    build_library,
    find_compiler,
    library_name,
    ops_library,
)

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
KOKORO_DIR = SHARED / "models" / "kokoro"
C, T = 24, 777  # T not a multiple of the 8 vector lanes
needs_compiler = pytest.mark.skipif(find_compiler() is None, reason="no C compiler here")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_compiler() is None:
        pytest.skip("no C compiler here")
    return build_library(tmp_path_factory.mktemp("native"))


def session(model: ModelProto, library: Path | None) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    if library is not None:
        options.register_custom_ops_library(str(library))
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def constants(rng: np.random.Generator) -> dict[str, np.ndarray]:
    alpha = rng.uniform(0.2, 8.0, (1, C, 1)).astype(np.float32)
    return {
        "alpha": alpha,
        "inverse": (1 / alpha).astype(np.float32),
        "gain": (1 + 0.3 * rng.standard_normal((1, C, 1))).astype(np.float32),
        "shift": (0.5 * rng.standard_normal((1, C, 1))).astype(np.float32),
        "eps": np.array(1e-5, dtype=np.float32),
        "one": np.array(1.0, dtype=np.float32),
        "two": np.array(2.0, dtype=np.float32),
    }


def snake_nodes(x: str, out: str, prefix: str, *, power: bool) -> list[NodeProto]:
    """Snake as the export spells it: Mul, Sin, Pow 2 (or x * x), Mul by 1/alpha, Add."""
    square = (
        helper.make_node("Pow", [f"{prefix}s", "two"], [f"{prefix}q"])
        if power
        else helper.make_node("Mul", [f"{prefix}s", f"{prefix}s"], [f"{prefix}q"])
    )
    return [
        helper.make_node("Mul", ["alpha", x], [f"{prefix}ax"]),
        helper.make_node("Sin", [f"{prefix}ax"], [f"{prefix}s"], name=f"{prefix}Sin"),
        square,
        helper.make_node("Mul", ["inverse", f"{prefix}q"], [f"{prefix}w"]),
        helper.make_node("Add", [x, f"{prefix}w"], [out]),
    ]


def kokoro_like(rng: np.random.Generator) -> ModelProto:
    """An AdaIN + Snake, as in Kokoro's vocoder, and a Snake whose input is read elsewhere too
    (so only the Snake can be fused there)."""
    adain = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[2]),
        helper.make_node("Sub", ["x", "mean"], ["centred"]),
        helper.make_node("Mul", ["centred", "centred"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["variance"], axes=[2]),
        helper.make_node("Add", ["variance", "eps"], ["padded"]),
        helper.make_node("Sqrt", ["padded"], ["deviation"]),
        helper.make_node("Div", ["centred", "deviation"], ["normed"]),
        helper.make_node("Add", ["gain", "one"], ["gain1"]),
        helper.make_node("Mul", ["gain1", "normed"], ["scaled"]),
        helper.make_node("Add", ["scaled", "shift"], ["h"]),
    ]
    nodes = [
        *adain,
        *snake_nodes("h", "y", "a", power=False),
        *snake_nodes("x2", "z", "b", power=True),
        helper.make_node("Neg", ["x2"], ["w"]),
    ]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, C, T]) for name in ("x", "x2")
    ]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "z", "w")]
    inits = [numpy_helper.from_array(v, k) for k, v in constants(rng).items()]
    graph = helper.make_graph(nodes, "kokoro-like", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@needs_compiler
def test_the_operators_compute_their_definition(library: Path) -> None:
    rng = np.random.default_rng(1)
    k = constants(rng)
    model = helper.make_model(
        helper.make_graph(
            [
                helper.make_node("Snake", ["x", "alpha", "inverse"], ["y"], domain=DOMAIN),
                helper.make_node(
                    "AdaINSnake",
                    ["x", "gain", "shift", "alpha", "inverse", "eps"],
                    ["z"],
                    domain=DOMAIN,
                ),
            ],
            "ops",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, T])],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "z")],
            [numpy_helper.from_array(v, name) for name, v in k.items()],
        ),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)],
    )
    x = (3 * rng.standard_normal((1, C, T)) + 1).astype(np.float32)
    x[0, 0, :5] = [40.0, -40.0, 0.0, 1e-6, 100.0]  # arguments far from the sine's base range
    snake, fused = session(model, library).run(None, {"x": x})

    def definition(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.float64)
        return v + k["inverse"] * np.sin(k["alpha"] * v) ** 2

    normed = (x - x.mean(axis=2, keepdims=True)) / np.sqrt(x.var(axis=2, keepdims=True) + 1e-5)
    assert np.abs(snake - definition(x)).max() < 1e-4  # |x| up to 100: float32 has 8e-6 there
    assert np.abs(fused - definition(normed * k["gain"] + k["shift"])).max() < 1e-5


@needs_compiler
def test_the_rewrite_fuses_both_patterns_and_keeps_the_output(library: Path) -> None:
    rng = np.random.default_rng(2)
    plain = kokoro_like(rng)
    fused = ModelProto()
    fused.CopyFrom(plain)
    assert fuse_vocoder(fused) == {"Snake": 1, "AdaINSnake": 1}
    ops = sorted(node.op_type for node in fused.graph.node)
    assert ops == ["AdaINSnake", "Add", "Neg", "Snake"]  # Add: 1 + gamma, kept
    feeds = {name: rng.standard_normal((1, C, T)).astype(np.float32) for name in ("x", "x2")}
    expected = session(plain, None).run(None, feeds)
    got = session(fused, library).run(None, feeds)
    for want, have in zip(expected, got, strict=True):
        assert np.abs(want - have).max() < 1e-5


def test_a_graph_without_snake_is_refused() -> None:
    graph = helper.make_graph(
        [helper.make_node("Sin", ["x"], ["y"])],
        "no-snake",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match="no Snake"):
        fuse_vocoder(helper.make_model(graph))


def test_no_compiler_is_a_logged_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(EngineUnavailable, match="no C compiler"):
        build_library(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert ops_library(tmp_path, prebuilt_dir=None) is None
    assert "without its fused vocoder operators" in caplog.text


@needs_compiler
def test_a_library_built_at_install_time_comes_first(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    assert ops_library(tmp_path / "cache", prebuilt_dir=library.parent) == library
    assert not (tmp_path / "cache").exists()


def test_a_failing_compiler_is_reported(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"failed to build .*exit 1"):
        build_library(tmp_path, compiler="false")
    assert list(tmp_path.iterdir()) == []  # no half-built library left behind


@needs_compiler
def test_a_built_library_is_reused(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "false")  # would fail if it compiled again
    assert build_library(library.parent) == library


# --- the engine ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KokoroEngine]]:
    """The same model without and with the fused operators (one rewritten graph for both)."""
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    data = tmp_path_factory.mktemp("kokoro-ops")
    both = {
        name: KokoroEngine(
            name, data_dir=data, shared_models_dir=KOKORO_DIR, fit=False, fused_ops=fused
        )
        for name, fused in (("plain", False), ("fused", True))
    }
    yield both
    for engine in both.values():
        engine.close()


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |difference| of log10 power spectrograms: the same voice and words measure about
    0.2-0.4 apart under rounding-level changes, another voice above 1."""
    n = min(a.size, b.size)

    def spectrogram(samples: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(samples[:n], 1024)[::256]
        return np.log10(np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2 + 1e-8)

    return float(np.mean(np.abs(spectrogram(a) - spectrogram(b))))


@pytest.mark.engine
def test_the_fused_engine_speaks_like_the_plain_one(engines: dict[str, KokoroEngine]) -> None:
    plain, fused = engines["plain"], engines["fused"]
    if find_compiler() is None:
        assert not fused.fused_ops
        pytest.skip("no C compiler here: the engine runs without the fused operators")
    assert fused.fused_ops and not plain.fused_ops
    assert fused.variant == plain.variant == "s8c1"
    assert f":s8c1:k{FUSION}:" in fused.version  # cached audio is not shared between the two
    assert fused.version.replace(f":k{FUSION}:", ":") == plain.version
    assert fused.timed  # the durations output survives the rewrite
    text = "A warm cup of tea and a good book make a perfect rainy afternoon."
    style = plain.stock_voices()["af_heart"]
    a = plain.render(text, style, lang="en-us").samples
    b = fused.render(text, style, lang="en-us").samples
    assert abs(a.size - b.size) <= 0.01 * a.size  # the same durations
    assert spectral_distance(a, b) < 0.6
    other = plain.render(text, plain.stock_voices()["am_michael"], lang="en-us").samples
    assert spectral_distance(a, other) > 2 * spectral_distance(a, b)


@pytest.mark.engine
def test_without_a_compiler_the_engine_runs_the_plain_graph(
    engines: dict[str, KokoroEngine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if (NATIVE / library_name()).is_file():
        pytest.skip("a library built at install time is there (python -m voxclone.engines...)")
    models = engines["plain"]._data_dir / "models"  # reuse the rewritten graph, no library
    (tmp_path / "models").symlink_to(models, target_is_directory=True)
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with caplog.at_level(logging.WARNING):
        engine = KokoroEngine("local", data_dir=tmp_path, shared_models_dir=KOKORO_DIR, fit=False)
    try:
        assert not engine.fused_ops and engine.version == engines["plain"].version
        assert "no C compiler" in caplog.text
        audio = list(engine.synthesize("Hello there.", {}, SynthesisParams(language="en")))
        assert sum(chunk.samples.size for chunk in audio) > 0.3 * 24000
    finally:
        engine.close()
