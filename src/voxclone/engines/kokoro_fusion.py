"""Kokoro's graph with its vocoder activations fused into the ``kokoro_ops`` operators.

Before each of its 48 convolutions the vocoder runs an AdaIN and a Snake activation; the export
spells them as

- AdaIN: ``ReduceMean`` → ``Sub`` → ``Mul`` (square) → ``ReduceMean`` → ``Add`` (eps) → ``Sqrt``
  → ``Div`` → ``Mul`` (1 + gamma) → ``Add`` (beta), the statistics over time per channel;
- Snake: ``Mul`` (alpha) → ``Sin`` → ``Pow`` 2 (``Mul`` x x after ``fast_model``) → ``Mul``
  (1 / alpha) → ``Add`` (the input).

``fuse_vocoder`` replaces each Snake by one ``Snake`` node, or, when an AdaIN feeds it and
nothing else reads the AdaIN's output, both by one ``AdaINSnake`` node; the nodes left without
a reader are dropped. ``fused_model`` writes the result once beside the graph it came from.
The arithmetic is the same; only the rounding of the sine and the sums differs (each operator
within 1e-5 of its definition). Kokoro's int8 graph carries such differences into its
quantized convolutions, so the audio is not bit-identical, but it is closer to the unfused
graph's than that graph is to itself with its style vector scaled by 1 + 1e-6
(``benchmarks/kokoro_fidelity.py``: log-spectral distance 0.27 against 0.36, speaker similarity
0.998, Whisper's WER 0 % either way).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from voxclone.engines.kokoro_ops import DOMAIN

FUSION = 1
"""Bump when the rewrite or the operators' arithmetic changes: it names the derived file."""


def fused_model(graph: Path) -> Path:
    """``graph`` with its Snake and AdaIN nodes fused, written once beside it.

    Needs the ``onnx`` package (ImportError otherwise); ValueError when the graph has no
    Snake activation to fuse (not a Kokoro export).
    """
    target = graph.with_name(f"{graph.name.removesuffix('.onnx')}.k{FUSION}.onnx")
    if target.is_file():
        return target
    import onnx

    model = onnx.load(str(graph))
    fuse_vocoder(model)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        onnx.save(model, str(tmp))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


class _Graph:
    """Who produces and who reads each value, and the constants."""

    def __init__(self, graph: Any) -> None:
        from onnx import numpy_helper

        self.producer = {out: node for node in graph.node for out in node.output}
        self.readers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in dict.fromkeys(node.input):  # once per reader, x * x included
                self.readers.setdefault(name, []).append(node)
        for out in graph.output:
            self.readers.setdefault(out.name, []).append(None)  # a graph output is read too
        self.constants = {init.name: init for init in graph.initializer}
        self._to_array = numpy_helper.to_array

    def made_by(self, name: str, op: str) -> Any:
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op else None

    def only_reader(self, name: str, op: str) -> Any:
        found = self.readers.get(name, [])
        return (
            found[0]
            if len(found) == 1 and found[0] is not None and found[0].op_type == op
            else None
        )

    def split(self, node: Any) -> tuple[str, str] | None:
        """A binary node's (constant, other) inputs, when exactly one is a constant."""
        a, b = node.input
        if (a in self.constants) == (b in self.constants):
            return None
        return (a, b) if a in self.constants else (b, a)

    def other(self, node: Any, known: str) -> str | None:
        a, b = (str(name) for name in node.input)
        if a == known:
            return b
        return a if b == known else None

    def value(self, name: str) -> Any:
        return self._to_array(self.constants[name]) if name in self.constants else None


def _snake(g: _Graph, sin: Any) -> tuple[list[Any], str, str, str, str] | None:
    """The Snake around ``sin``: its nodes, input, alpha, 1/alpha and output; None if not one."""
    scaled = g.made_by(sin.input[0], "Mul")
    if scaled is None or (parts := g.split(scaled)) is None:
        return None
    alpha, x = parts
    square = g.only_reader(sin.output[0], "Mul") or g.only_reader(sin.output[0], "Pow")
    if square is None:
        return None
    if square.op_type == "Mul" and list(square.input) != [sin.output[0]] * 2:
        return None
    if square.op_type == "Pow":
        power = g.value(square.input[1])
        if power is None or power.size != 1 or float(power) != 2.0:
            return None
    weighted = g.only_reader(square.output[0], "Mul")
    if weighted is None or (parts := g.split(weighted)) is None:
        return None
    inverse = parts[0]
    add = g.only_reader(weighted.output[0], "Add")
    if add is None or g.other(add, weighted.output[0]) != x:
        return None
    return [scaled, sin, square, weighted, add], x, alpha, inverse, add.output[0]


def _last_axis_mean(g: _Graph, node: Any) -> bool:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        value = g.value(node.input[1])
        axes = None if value is None else [int(v) for v in value.reshape(-1)]
    return attrs.get("keepdims", 1) == 1 and axes in ([2], [-1])


def _adain(g: _Graph, name: str) -> tuple[str, str, str, str] | None:
    """The AdaIN that makes ``name``: its input, gain (1 + gamma), shift (beta) and eps."""
    shifted = g.made_by(name, "Add")
    if shifted is None:
        return None
    for scaled_name in shifted.input:
        scaled = g.made_by(scaled_name, "Mul")
        if scaled is None:
            continue
        for normed_name in scaled.input:
            normed = g.made_by(normed_name, "Div")
            if normed is None:
                continue
            centred, root = (g.producer.get(i) for i in normed.input)
            if centred is None or root is None:
                return None
            if centred.op_type != "Sub" or root.op_type != "Sqrt":
                return None
            x, mean_name = centred.input
            mean = g.made_by(mean_name, "ReduceMean")
            if mean is None or mean.input[0] != x or not _last_axis_mean(g, mean):
                return None
            padded = g.made_by(root.input[0], "Add")
            if padded is None or (parts := g.split(padded)) is None:
                return None
            eps, variance_name = parts
            variance = g.made_by(variance_name, "ReduceMean")
            if variance is None or not _last_axis_mean(g, variance):
                return None
            square = g.made_by(variance.input[0], "Mul")
            if square is None or list(square.input) != [centred.output[0]] * 2:
                return None
            gain = g.other(scaled, normed_name)
            shift = g.other(shifted, scaled_name)
            if gain is None or shift is None:
                return None
            return x, gain, shift, eps
    return None


def fuse_vocoder(model: Any) -> dict[str, int]:
    """Rewrite ``model`` (an onnx ModelProto) in place; how many of each operator it now has.

    ValueError when it has no Snake to fuse.
    """
    from onnx import helper

    graph = model.graph
    g = _Graph(graph)
    replaced: dict[str, Any] = {}
    counts = {"Snake": 0, "AdaINSnake": 0}
    for sin in [n for n in graph.node if n.op_type == "Sin"]:
        found = _snake(g, sin)
        if found is None:
            continue
        nodes, x, alpha, inverse, out = found
        readers = g.readers.get(x, [])
        alone = all(r is not None and r.output[0] in {n.output[0] for n in nodes} for r in readers)
        norm = _adain(g, x) if alone else None
        if norm is not None:
            source, gain, shift, eps = norm
            op, inputs = "AdaINSnake", [source, gain, shift, alpha, inverse, eps]
        else:
            op, inputs = "Snake", [x, alpha, inverse]
        fused = helper.make_node(op, inputs, [out], name=f"{sin.name}.{op}", domain=DOMAIN)
        replaced[out] = fused
        counts[op] += 1
    if not replaced:
        raise ValueError("the graph has no Snake activation to fuse (not a Kokoro export?)")
    nodes = [replaced.get(node.output[0], node) if node.output else node for node in graph.node]
    needed = {out.name for out in graph.output}
    kept: list[Any] = []
    for node in reversed(nodes):  # drop what no longer leads to an output
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    graph.ClearField("node")
    graph.node.extend(reversed(kept))
    initializers = [i for i in graph.initializer if i.name in needed]
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)
    if not any(o.domain == DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    return counts
