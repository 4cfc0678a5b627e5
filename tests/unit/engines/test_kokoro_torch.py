"""The dequantised Kokoro graph (kokoro_float) and its PyTorch runner (kokoro_torch).

Small graphs built here check each rewrite and each operator against onnxruntime; one test
behind the ``engine`` marker runs the real model (installed part packages) end to end."""

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import torch
from onnx import ModelProto, TensorProto, helper, numpy_helper

from voxclone.engines.kokoro_assets import resolve_model
from voxclone.engines.kokoro_float import float_graph
from voxclone.engines.kokoro_torch import KokoroTorch, TorchGraph


def model(
    nodes: list[Any],
    inputs: list[Any],
    outputs: list[str],
    consts: dict[str, Any],
    shape: list[int] | None = None,
) -> Any:
    graph = helper.make_graph(
        nodes,
        "g",
        inputs,
        [
            helper.make_tensor_value_info(
                o, TensorProto.INT64 if o == "quotient" else TensorProto.FLOAT, shape
            )
            for o in outputs
        ],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def run_ort(m: ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(
        m.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return [np.asarray(x) for x in session.run(None, feeds)]


def run_torch(m: ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    graph = TorchGraph(m)
    with torch.no_grad():
        out = graph.run({k: torch.from_numpy(v) for k, v in feeds.items()})
    return [out[name].numpy() for name in graph.outputs]


def value(name: str, shape: list[int], kind: int = TensorProto.FLOAT) -> Any:
    return helper.make_tensor_value_info(name, kind, shape)


def test_float_graph_turns_an_integer_matmul_into_a_float_one() -> None:
    rng = np.random.default_rng(0)
    q = rng.integers(-127, 128, (4, 3)).astype(np.int8)
    zero = np.array([1, -2, 0], np.int8)
    scale = np.array([0.01, 0.02, 0.03], np.float32)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "ws"], ["scales"]),
        helper.make_node("Mul", ["accf", "scales"], ["y"]),
    ]
    consts = {"w": q, "wz": zero, "ws": scale}
    int8 = model(nodes, [value("x", [2, 4])], ["y"], consts, shape=[2, 3])
    converted = float_graph(int8)

    assert [n.op_type for n in converted.graph.node] == ["MatMul"]
    x = rng.standard_normal((2, 4)).astype(np.float32)
    exact = x @ ((q.astype(np.float32) - zero) * scale)
    np.testing.assert_allclose(run_ort(converted, {"x": x})[0], exact, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run_ort(int8, {"x": x})[0], exact, atol=0.05)  # 8-bit x


def test_float_graph_refuses_an_operator_it_cannot_rewrite() -> None:
    nodes = [helper.make_node("Unknown", ["x"], ["y"], domain="com.microsoft")]
    with pytest.raises(ValueError, match=r"com\.microsoft\.Unknown"):
        float_graph(model(nodes, [value("x", [2])], ["y"], {}, shape=[2]))


def test_torch_runner_matches_onnxruntime_on_the_exports_awkward_operators() -> None:
    rng = np.random.default_rng(1)
    hidden, width = 3, 2
    consts = {
        "starts": np.array([-1], np.int64),
        "ends": np.array([-(2**62)], np.int64),
        "axes": np.array([2], np.int64),
        "steps": np.array([-2], np.int64),
        "pads": np.array([0, 0, 2, 0, 0, 3], np.int64),
        "scales": np.array([1, 1, 2.5], np.float32),
        "step": np.array(2, np.int64),
        "window": np.hanning(6).astype(np.float32),
        "length": np.array(6, np.int64),
        "W": rng.standard_normal((2, 4 * hidden, width)).astype(np.float32),
        "R": rng.standard_normal((2, 4 * hidden, hidden)).astype(np.float32),
        "B": rng.standard_normal((2, 8 * hidden)).astype(np.float32),
        "idx": np.array([[0, 1], [0, 0]], np.int64),
        "upd": rng.standard_normal((2, 10)).astype(np.float32),
        "gidx": np.array([-1, 0], np.int64),
        "shape": np.array([2, 1, 1], np.int64),
        "ints": np.array([7, -7, 9], np.int64),
        "three": np.array([2, 2, 3], np.int64),
        "reduce": np.array([2], np.int64),
    }
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["sliced"]),
        helper.make_node("Pad", ["x", "pads"], ["padded"], mode="reflect"),
        helper.make_node(
            "Resize",
            ["x", "", "scales"],
            ["near"],
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        ),
        helper.make_node(
            "Resize",
            ["x", "", "scales"],
            ["lin"],
            mode="linear",
            coordinate_transformation_mode="half_pixel",
        ),
        helper.make_node("Reshape", ["x", "flat_shape"], ["signal"]),
        helper.make_node("STFT", ["signal", "step", "window", "length"], ["spec"]),
        helper.make_node("Transpose", ["x"], ["seq"], perm=[2, 0, 1]),
        helper.make_node(
            "LSTM",
            ["seq", "W", "R", "B"],
            ["y", "yh", "yc"],
            hidden_size=hidden,
            direction="bidirectional",
        ),
        helper.make_node("ScatterND", ["x", "idx", "upd"], ["scattered"]),
        helper.make_node("Gather", ["x", "gidx"], ["gathered"], axis=2),
        helper.make_node("Expand", ["x", "shape"], ["expanded"]),
        helper.make_node("Div", ["ints", "three"], ["quotient"]),
        helper.make_node("ReduceMean", ["x", "reduce"], ["mean"], keepdims=1),
        helper.make_node("CumSum", ["x", "reduce"], ["cumsum"]),
    ]
    consts["flat_shape"] = np.array([2, 10], np.int64)
    outputs = [
        "sliced",
        "padded",
        "near",
        "lin",
        "spec",
        "y",
        "yh",
        "scattered",
        "gathered",
        "expanded",
        "quotient",
        "mean",
        "cumsum",
    ]
    m = model(nodes, [value("x", [1, 2, 10])], outputs, consts)
    x = {"x": rng.standard_normal((1, 2, 10)).astype(np.float32)}

    for name, ours, theirs in zip(outputs, run_torch(m, x), run_ort(m, x), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=name)


def test_the_exports_atan_pattern_is_finite_with_a_finite_gradient_at_the_origin() -> None:
    nodes = [
        helper.make_node("Div", ["y", "x"], ["ratio"]),
        helper.make_node("Atan", ["ratio"], ["atan"]),
        helper.make_node("Add", ["atan", "pi"], ["plus"]),
        helper.make_node("Sub", ["atan", "pi"], ["minus"]),
        helper.make_node("Greater", ["y", "zero"], ["upper"]),
        helper.make_node("Where", ["upper", "plus", "minus"], ["turned"]),
        helper.make_node("Less", ["x", "zero"], ["left"]),
        helper.make_node("Where", ["left", "turned", "atan"], ["phase"]),
    ]
    consts = {"pi": np.array(np.pi, np.float32), "zero": np.array(0, np.float32)}
    m = model(nodes, [value("y", [5]), value("x", [5])], ["phase"], consts)
    y = torch.tensor([0.0, 1.0, 1.0, -1.0, 0.5], requires_grad=True)
    x = torch.tensor([0.0, 1.0, -1.0, -1.0, 0.0], requires_grad=True)

    phase = TorchGraph(m).run({"y": y, "x": x})["phase"]
    phase.sum().backward()

    assert [n.op_type for n in TorchGraph(m).nodes] == ["Atan2"]
    expected = np.arctan2(y.detach().numpy(), x.detach().numpy())
    np.testing.assert_allclose(phase.detach().numpy(), expected, atol=1e-6)
    assert y.grad is not None and x.grad is not None
    assert torch.isfinite(y.grad).all() and torch.isfinite(x.grad).all()


@pytest.mark.engine
def test_the_real_model_runs_in_torch_with_a_gradient_on_the_style(tmp_path: Path) -> None:
    import onnx

    torch.set_num_threads(2)
    kokoro = KokoroTorch(float_graph(onnx.load(str(resolve_model(None, tmp_path)))))
    tokens = [50, 83, 156, 43, 102, 56, 16, 4]  # a few vocabulary ids: one short word or so
    style = (0.1 * torch.randn(1, 256, generator=torch.Generator().manual_seed(0))).requires_grad_()

    out = kokoro(tokens, style)
    out["audio"].pow(2).mean().backward()

    assert out["audio"].ndim == 1 and out["audio"].numel() > 2400
    assert out["durations"].shape == (1, len(tokens) + 2)
    assert style.grad is not None and torch.isfinite(style.grad).all()
    assert float(style.grad[0, :128].abs().sum()) > 0  # the timbre half reaches the audio
