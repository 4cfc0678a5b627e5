"""Torch versions of the ONNX operators in Kokoro's float graph (``kokoro_float``).

Each takes the node's inputs (None for an omitted optional one) and its attributes and returns
its outputs, following the ONNX definitions as far as the Kokoro export uses them; cases it does
not use raise ValueError. ``LSTM`` becomes a frozen ``torch.nn.LSTM`` built once per node
(``lstm_module``). Two are made safe for gradients: ``Sqrt`` has a zero gradient at 0, and the
runner's fused ``Atan2`` is 0 (value and gradient) at the origin. torch is imported inside the
functions: importing this module costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Tensor = Any  # torch.Tensor; Any keeps torch out of the import of this module
OpFn = Callable[[list[Any], dict[str, Any]], list[Tensor]]


def _atan2(y: Tensor, x: Tensor) -> Tensor:
    import torch

    zero = (x == 0) & (y == 0)
    return torch.where(zero, torch.zeros_like(x), torch.atan2(y, torch.where(zero, 1.0, x)))


def _sqrt(x: Tensor) -> Tensor:
    """``sqrt`` with a zero (not infinite) gradient at 0: silent frames' magnitudes."""
    import torch

    positive = x > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, x, 1.0)), 0.0)


def lstm_module(node: Any, attrs: Mapping[str, Any], constants: Mapping[str, Any]) -> Any:
    """A frozen ``torch.nn.LSTM`` with the node's weights (ONNX gates i,o,f,c → torch i,f,g,o)."""
    import torch

    hidden = int(attrs["hidden_size"])
    direction = attrs.get("direction", b"forward")
    bidirectional = direction == b"bidirectional"
    if direction not in (b"forward", b"bidirectional") or attrs.get("input_forget"):
        raise ValueError(f"unsupported Kokoro LSTM {attrs}")
    w, r = constants[node.input[1]], constants[node.input[2]]
    b = constants[node.input[3]] if len(node.input) > 3 and node.input[3] else None
    if len(node.input) > 7 and node.input[7]:
        raise ValueError("unsupported Kokoro LSTM: peepholes")
    module = torch.nn.LSTM(int(w.shape[2]), hidden, bidirectional=bidirectional)

    def gates(x: Any) -> Any:
        i, o, f, c = x.chunk(4, dim=0)
        return torch.cat([i, f, c, o])

    with torch.no_grad():
        for d in range(w.shape[0]):
            suffix = "_reverse" if d else ""
            getattr(module, f"weight_ih_l0{suffix}").copy_(gates(w[d]))
            getattr(module, f"weight_hh_l0{suffix}").copy_(gates(r[d]))
            bias = b[d] if b is not None else torch.zeros(8 * hidden)
            getattr(module, f"bias_ih_l0{suffix}").copy_(gates(bias[: 4 * hidden]))
            getattr(module, f"bias_hh_l0{suffix}").copy_(gates(bias[4 * hidden :]))
    module.requires_grad_(False)
    return module


def run_lstm(module: Any, args: list[Any]) -> list[Tensor]:
    """An ONNX ``LSTM`` node's outputs (Y, Y_h, Y_c) from ``lstm_module``'s module."""
    args = args + [None] * (8 - len(args))
    x, lengths, h0, c0 = args[0], args[4], args[5], args[6]
    if lengths is not None and int(lengths.min()) != x.shape[0]:
        raise ValueError("unsupported Kokoro LSTM: padded sequences")
    state = None if h0 is None or c0 is None else (h0, c0)
    y, (h, c) = module(x, state)
    seq, batch = y.shape[0], y.shape[1]
    dirs = h.shape[0]
    return [y.reshape(seq, batch, dirs, -1).permute(0, 2, 1, 3), h, c]


def _ints(t: Tensor) -> list[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _dtype(onnx_type: int) -> Any:
    import torch

    table = {
        1: torch.float32,
        6: torch.int32,
        7: torch.int64,
        9: torch.bool,
        10: torch.float16,
        11: torch.float64,
    }
    if onnx_type not in table:
        raise ValueError(f"unsupported Kokoro graph cast to ONNX type {onnx_type}")
    return table[onnx_type]


def _div(a: Tensor, b: Tensor) -> Tensor:
    import torch

    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _conv(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch.nn.functional as F

    x, w, b = args[0], args[1], args[2] if len(args) > 2 else None
    pads = list(attrs.get("pads", [0, 0]))
    if pads[0] != pads[1]:
        x = F.pad(x, (pads[0], pads[1]))
        pads = [0, 0]
    y = F.conv1d(
        x,
        w,
        b,
        stride=attrs.get("strides", [1])[0],
        padding=pads[0],
        dilation=attrs.get("dilations", [1])[0],
        groups=attrs.get("group", 1),
    )
    return [y]


def _conv_transpose(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch.nn.functional as F

    x, w, b = args[0], args[1], args[2] if len(args) > 2 else None
    pads = list(attrs.get("pads", [0, 0]))
    if pads[0] != pads[1]:
        raise ValueError(f"unsupported Kokoro ConvTranspose pads {pads}")
    y = F.conv_transpose1d(
        x,
        w,
        b,
        stride=attrs.get("strides", [1])[0],
        padding=pads[0],
        output_padding=attrs.get("output_padding", [0])[0],
        groups=attrs.get("group", 1),
        dilation=attrs.get("dilations", [1])[0],
    )
    return [y]


def _gather(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, idx = args[0], args[1]
    axis = attrs.get("axis", 0) % x.ndim
    idx = idx.long()
    idx = idx + (idx < 0).long() * x.shape[axis]
    return [x[(slice(None),) * axis + (idx,)]]


def _slice(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch

    x = args[0]
    starts, ends = _ints(args[1]), _ints(args[2])
    axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis %= x.ndim
        size = x.shape[axis]
        if step > 0:
            index = slice(max(min(start, size), -size), max(min(end, size), -size - 1), step)
            x = x[(slice(None),) * axis + (index,)]
        else:  # reverse, then slice forward
            lo = size - 1 - min(max(start if start >= 0 else start + size, -1), size - 1)
            hi = size - 1 - min(max(end if end >= 0 else end + size, -1), size - 1)
            x = torch.flip(x, [axis])[(slice(None),) * axis + (slice(lo, hi, -step),)]
    return [x]


def _pad(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch.nn.functional as F

    x, pads = args[0], _ints(args[1])
    value = float(args[2]) if len(args) > 2 and args[2] is not None else 0.0
    n = len(pads) // 2
    torch_pads: list[int] = []
    for axis in range(n - 1, -1, -1):
        torch_pads += [pads[axis], pads[axis + n]]
    while torch_pads[-2:] == [0, 0] and len(torch_pads) > 2:
        torch_pads = torch_pads[:-2]
    mode = attrs.get("mode", b"constant").decode()
    mode = {"edge": "replicate"}.get(mode, mode)
    if mode == "constant":
        return [F.pad(x, torch_pads, value=value)]
    return [F.pad(x, torch_pads, mode=mode)]


def _resize(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch.nn.functional as F

    x = args[0]
    scales = args[2] if len(args) > 2 and args[2] is not None and args[2].numel() else None
    sizes = _ints(args[3])[2:] if len(args) > 3 and args[3] is not None else None
    mode = attrs.get("mode", b"nearest").decode()
    transform = attrs.get("coordinate_transformation_mode", b"half_pixel").decode()
    factor = [float(s) for s in scales.tolist()[2:]] if scales is not None else None
    if mode == "nearest":
        if transform != "asymmetric" or attrs.get("nearest_mode", b"") != b"floor":
            raise ValueError(f"unsupported Kokoro Resize {attrs}")
        return [F.interpolate(x, size=sizes, scale_factor=factor, mode="nearest")]
    if mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel"):
        return [
            F.interpolate(x, size=sizes, scale_factor=factor, mode="linear", align_corners=False)
        ]
    raise ValueError(f"unsupported Kokoro Resize {attrs}")


def _stft(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch

    signal, step = args[0], int(args[1])
    window = args[2]
    length = int(args[3]) if len(args) > 3 and args[3] is not None else window.shape[0]
    if signal.ndim == 3 and signal.shape[-1] == 1:  # [batch, length, 1]; ORT takes [batch, length]
        signal = signal[..., 0]
    if not attrs.get("onesided", 1) or signal.ndim != 2:
        raise ValueError(f"unsupported Kokoro STFT: signal {tuple(signal.shape)}, {attrs}")
    frames = signal.unfold(-1, length, step)
    if window is not None:
        frames = frames * window
    spectrum = torch.fft.rfft(frames, n=length)
    return [torch.stack([spectrum.real, spectrum.imag], dim=-1)]


def _scatter_nd(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    data, indices, updates = args[0], args[1], args[2]
    if attrs.get("reduction", b"none") != b"none":
        raise ValueError(f"unsupported Kokoro ScatterND {attrs}")
    return [data.index_put(tuple(indices.long().unbind(-1)), updates)]


def _split(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x = args[0]
    axis = attrs.get("axis", 0)
    if len(args) > 1 and args[1] is not None:
        return list(x.split(_ints(args[1]), dim=axis))
    n = int(attrs["num_outputs"])
    return list(x.split(math.ceil(x.shape[axis] / n), dim=axis))


def _unsqueeze(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x = args[0]
    axes = _ints(args[1]) if len(args) > 1 else list(attrs["axes"])
    rank = x.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return [x]


def _squeeze(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x = args[0]
    if len(args) < 2 or args[1] is None:
        return [x.squeeze()]
    axes = sorted((a % x.ndim for a in _ints(args[1])), reverse=True)
    for axis in axes:
        x = x.squeeze(axis)
    return [x]


def _reduce(fn: str) -> OpFn:
    def op(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
        x = args[0]
        axes = _ints(args[1]) if len(args) > 1 and args[1] is not None else attrs.get("axes")
        keep = bool(attrs.get("keepdims", 1))
        dims = [a % x.ndim for a in axes] if axes else list(range(x.ndim))
        return [getattr(x, fn)(dim=dims, keepdim=keep)]

    return op


def _reshape(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, shape = args[0], _ints(args[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def _expand(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:

    x, target = args[0], _ints(args[1])
    rank = max(x.ndim, len(target))
    dims = [1] * (rank - x.ndim) + list(x.shape)
    target = [1] * (rank - len(target)) + target
    return [x.reshape(dims).expand([max(a, b) for a, b in zip(dims, target, strict=True)])]


def _constant_of_shape(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch
    from onnx import numpy_helper

    shape = _ints(args[0])
    value = attrs.get("value")
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    dtype = torch.from_numpy(fill.copy()).dtype
    return [torch.full(shape, fill.reshape(-1)[0].item(), dtype=dtype)]


def _range(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch

    start, limit, delta = args[0], args[1], args[2]
    return [torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)]


def _clip(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch

    x = args[0]
    low = args[1] if len(args) > 1 else None
    high = args[2] if len(args) > 2 else None
    return [torch.clamp(x, min=low, max=high)]


def _shape(args: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    import torch

    dims = list(args[0].shape)[attrs.get("start", 0) : attrs.get("end")]
    return [torch.tensor(dims, dtype=torch.int64)]


def _elementwise() -> dict[str, OpFn]:
    import torch
    import torch.nn.functional as F

    def unary(fn: Callable[[Tensor], Tensor]) -> OpFn:
        return lambda a, _: [fn(a[0])]

    def binary(fn: Callable[[Tensor, Tensor], Tensor]) -> OpFn:
        return lambda a, _: [fn(a[0], a[1])]

    return {
        "Add": binary(torch.add),
        "Sub": binary(torch.sub),
        "Mul": binary(torch.mul),
        "Div": binary(_div),
        "Pow": binary(torch.pow),
        "MatMul": binary(torch.matmul),
        "Equal": binary(torch.eq),
        "Greater": binary(torch.gt),
        "GreaterOrEqual": binary(torch.ge),
        "Less": binary(torch.lt),
        "And": binary(torch.logical_and),
        "Where": lambda a, _: [torch.where(a[0], a[1], a[2])],
        "Sqrt": unary(_sqrt),
        "Atan2": binary(_atan2),
        "Sin": unary(torch.sin),
        "Cos": unary(torch.cos),
        "Exp": unary(torch.exp),
        "Atan": unary(torch.atan),
        "Tanh": unary(torch.tanh),
        "Sigmoid": unary(torch.sigmoid),
        "Floor": unary(torch.floor),
        "Round": unary(torch.round),
        "NonZero": unary(lambda x: torch.nonzero(x).T),
        "Cast": lambda a, at: [a[0].to(_dtype(at["to"]))],
        "LeakyRelu": lambda a, at: [F.leaky_relu(a[0], at.get("alpha", 0.01))],
        "Gelu": lambda a, at: [F.gelu(a[0], approximate=at.get("approximate", b"none").decode())],
        "Softmax": lambda a, at: [torch.softmax(a[0], dim=at.get("axis", -1))],
        "Transpose": lambda a, at: [
            a[0].permute(at.get("perm", list(range(a[0].ndim - 1, -1, -1))))
        ],
        "LayerNormalization": lambda a, at: [
            F.layer_norm(a[0], a[0].shape[-1:], a[1], a[2], at.get("epsilon", 1e-5))
        ],
        "Concat": lambda a, at: [torch.cat([t for t in a if t is not None], dim=at["axis"])],
        "CumSum": lambda a, at: [_cumsum(a[0], int(a[1]), at)],
    }


def _cumsum(x: Tensor, axis: int, attrs: dict[str, Any]) -> Tensor:
    if attrs.get("exclusive") or attrs.get("reverse"):
        raise ValueError(f"unsupported Kokoro CumSum {attrs}")
    return x.cumsum(axis)


def op_table() -> dict[str, OpFn]:
    """Torch versions of the ONNX operators the Kokoro float graph uses, by operator type."""
    table = _elementwise()
    table.update(
        {
            "Conv": _conv,
            "ConvTranspose": _conv_transpose,
            "Gather": _gather,
            "Slice": _slice,
            "Pad": _pad,
            "Resize": _resize,
            "STFT": _stft,
            "ScatterND": _scatter_nd,
            "Split": _split,
            "Unsqueeze": _unsqueeze,
            "Squeeze": _squeeze,
            "ReduceMean": _reduce("mean"),
            "ReduceSum": _reduce("sum"),
            "Reshape": _reshape,
            "Expand": _expand,
            "ConstantOfShape": _constant_of_shape,
            "Range": _range,
            "Clip": _clip,
            "Shape": _shape,
        }
    )
    return table
