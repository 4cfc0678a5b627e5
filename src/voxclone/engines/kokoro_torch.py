"""A differentiable Kokoro: the float graph (``kokoro_float``) run node by node in PyTorch.

``TorchGraph`` keeps an ONNX graph's constants as frozen tensors and interprets its nodes in
order with torch operations (``kokoro_torch_ops``), so its float inputs get gradients.
``KokoroTorch`` feeds it one sentence: tokens, the 256-number style vector and the speed, and
returns the audio, differentiable in ``style`` through the text encoder, prosody predictor,
decoder, harmonic source and iSTFT vocoder. What the graph computes in integers (durations
rounded to frames, shapes, indices) passes no gradient; pinning the durations (``durations=``)
keeps the frame alignment fixed across an optimiser's steps, so a loss compares the same frames.
The harmonic source's spectrum passes no gradient unless asked (``source_grad``): its phase is
chaotic in F0, and with it the gradient is huge and useless (``benchmarks/kokoro_torch_probe``).

It covers the ~50 operator types of the Kokoro v1.0 export; an unknown one raises ValueError
naming it. Needs ``onnx`` and ``torch``, imported when a graph is built.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from voxclone.engines.kokoro_float import live_nodes
from voxclone.engines.kokoro_torch_ops import lstm_module, op_table, run_lstm

if TYPE_CHECKING:
    import torch


def durations_name(graph: Any) -> str:
    """The graph's tensor of per-token durations in frames: ``Round → Clip``'s output."""
    rounded = {n.output[0] for n in graph.node if n.op_type == "Round"}
    for node in graph.node:
        if node.op_type == "Clip" and node.input[0] in rounded:
            return str(node.output[0])
    raise ValueError("the Kokoro graph has no Round → Clip durations")


def source_spectrum_name(graph: Any) -> str:
    """The graph's STFT of the harmonic source (the one ``STFT`` node's output)."""
    found = [str(n.output[0]) for n in graph.node if n.op_type == "STFT"]
    if len(found) != 1:
        raise ValueError(f"the Kokoro graph has {len(found)} STFT nodes, expected one")
    return found[0]


class TorchGraph:
    """An ONNX graph of standard operators, run in PyTorch."""

    def __init__(self, graph_model: Any) -> None:
        import torch
        from onnx import helper, numpy_helper

        graph = graph_model.graph
        self.outputs = [out.name for out in graph.output]
        self.nodes = live_nodes(_fuse_atan2(list(graph.node)), self.outputs)
        self.constants: dict[str, torch.Tensor] = {
            init.name: torch.from_numpy(np.array(numpy_helper.to_array(init)))
            for init in graph.initializer
        }
        self.attrs = [
            {a.name: helper.get_attribute_value(a) for a in node.attribute} for node in self.nodes
        ]
        self.ops = op_table()
        unknown = sorted({n.op_type for n in self.nodes if n.op_type != "LSTM"} - set(self.ops))
        if unknown:
            raise ValueError(f"no torch version of graph operators {unknown}")
        last: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for name in node.input:
                last[name] = i
        self.free_after = [
            [n for n in node.input if last.get(n) == i and n not in self.constants]
            for i, node in enumerate(self.nodes)
        ]
        self.lstms: dict[int, torch.nn.LSTM] = {
            i: lstm_module(node, self.attrs[i], self.constants)
            for i, node in enumerate(self.nodes)
            if node.op_type == "LSTM"
        }

    def run(
        self,
        feeds: Mapping[str, torch.Tensor],
        *,
        fetch: Sequence[str] = (),
        pinned: Mapping[str, torch.Tensor] | None = None,
        detached: Collection[str] = (),
    ) -> dict[str, torch.Tensor]:
        """The graph's outputs and the ``fetch`` tensors, by name.

        ``pinned`` replaces named tensors by given values (of any shape the graph accepts there)
        as soon as they are computed: a check against another runtime, or a branch held fixed.
        ``detached`` tensors keep their values but pass no gradient back.
        """
        values: dict[str, torch.Tensor] = dict(feeds)
        keep = {*self.outputs, *fetch}
        for i, node in enumerate(self.nodes):
            args = [
                None if not n else values[n] if n in values else self.constants[n]
                for n in node.input
            ]
            if node.op_type == "LSTM":
                outs = run_lstm(self.lstms[i], args)
            else:
                outs = self.ops[node.op_type](args, self.attrs[i])
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    values[name] = value
                    if pinned and name in pinned:
                        values[name] = pinned[name].to(value.dtype)
                    elif name in detached:
                        values[name] = value.detach()
            for name in self.free_after[i]:
                if name not in keep:
                    values.pop(name, None)
        return {name: values[name] for name in keep}


class KokoroTorch:
    """Kokoro's float graph in PyTorch, one sentence at a time, differentiable in ``style``."""

    def __init__(self, graph_model: Any) -> None:
        self.graph = TorchGraph(graph_model)
        self.audio = self.graph.outputs[0]
        self.durations = durations_name(graph_model.graph)
        self.source = source_spectrum_name(graph_model.graph)

    def __call__(
        self,
        tokens: Sequence[int],
        style: torch.Tensor,
        *,
        speed: float = 1.0,
        durations: torch.Tensor | None = None,
        fetch: Sequence[str] = (),
        pinned: Mapping[str, torch.Tensor] | None = None,
        source_grad: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Audio (``"audio"``), the durations used (``"durations"``) and the ``fetch`` tensors.

        ``tokens`` are the vocabulary ids of one sentence without the boundary zeros; ``style``
        is the 256-number style row (1 × 256). ``durations`` (frames per token, boundaries
        included) replaces the predicted ones; ``pinned`` as in ``TorchGraph.run``.

        By default no gradient flows back through the harmonic source's spectrum (``source``:
        F0 → cumulative phase → sine → STFT → magnitude and phase): the phase part of it is
        chaotic in F0, so its gradient is huge and useless (a finite difference does not see
        it). Without it the gradient matches finite differences and the timbre half gets the
        same gradient as with it; ``source_grad=True`` keeps it.
        """
        import torch

        pins = dict(pinned or {})
        if durations is not None:
            pins[self.durations] = durations.reshape(1, -1)
        feeds = {
            "tokens": torch.tensor([[0, *tokens, 0]], dtype=torch.int64),
            "style": style.reshape(1, 256),
            "speed": torch.tensor([speed], dtype=torch.float32),
        }
        values = self.graph.run(
            feeds,
            fetch=[self.durations, *fetch],
            pinned=pins,
            detached=() if source_grad else (self.source,),
        )
        values["audio"] = values.pop(self.audio)
        values["durations"] = values[self.durations]
        return values


def _fuse_atan2(nodes: list[Any]) -> list[Any]:
    """The export's ``atan(y / x)`` + quadrant ``Where``s as one ``Atan2`` node.

    The export divides before it checks the quadrant, so silent frames (x = y = 0) give NaN in
    both the value and, worse, the gradient; ``Atan2`` (``_atan2``) is finite everywhere.
    """
    from onnx import helper

    producer = {out: node for node in nodes for out in node.output}
    fused: dict[str, Any] = {}
    for node in nodes:
        if node.op_type != "Where" or len(node.input) != 3:
            continue
        atan, inner = producer.get(node.input[2]), producer.get(node.input[1])
        if atan is None or atan.op_type != "Atan" or inner is None or inner.op_type != "Where":
            continue
        div = producer.get(atan.input[0])
        if div is None or div.op_type != "Div":
            continue
        fused[node.output[0]] = helper.make_node(
            "Atan2", [div.input[0], div.input[1]], [node.output[0]], domain="voxclone"
        )
    return [fused.get(node.output[0], node) if node.output else node for node in nodes]
