"""Kokoro's int8 ONNX graph turned back into a float graph of standard ONNX operators.

The shipped ``kokoro-v1.0.int8.onnx`` is onnxruntime's dynamic quantisation of the float export,
with some of onnxruntime's own fused operators (``com.microsoft``). ``float_graph`` undoes both:

- ``DynamicQuantizeLinear → MatMulInteger / ConvInteger (→ Add bias) → Cast → Mul(scales)``
  becomes one ``MatMul`` / ``Conv`` with the dequantised weight ``(w - zero_point) * scale``
  (and, for a convolution, its float bias, read back from the bias' quantisation chain);
- ``Gather`` of an int8 embedding table + ``DequantizeLinear`` gathers from the float table;
- ``DynamicQuantizeLSTM`` becomes ``LSTM`` (weights dequantised and transposed to ONNX's layout);
- ``FastGelu`` → ``Add`` + ``Gelu(tanh)``, ``SkipLayerNormalization`` → ``Add`` +
  ``LayerNormalization``, ``FusedMatMul`` (transposed A) → ``Transpose`` + ``MatMul``.

What the quantisation rounded stays rounded (the weights are the int8 ones, dequantised); what
it did to activations (8-bit dynamic ranges) is gone, so the float graph is the int8 graph
minus its activation noise. Needs the ``onnx`` package; the graph is the only input, nothing is
downloaded. ``kokoro_torch`` runs the result in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def float_graph(model: Any) -> Any:
    """A float, standard-operator copy of the Kokoro int8 ``onnx.ModelProto`` ``model``.

    Raises ValueError when the graph does not have the shape of the Kokoro v1.0 export.
    """
    import onnx
    from onnx import helper

    graph_model = onnx.ModelProto()
    graph_model.CopyFrom(model)
    graph = graph_model.graph
    rewrite = _Rewrite(graph)
    nodes: list[Any] = []
    for node in graph.node:
        nodes.extend(rewrite.node(node))
    del graph.node[:]
    graph.node.extend(live_nodes(nodes, [out.name for out in graph.output]))
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    kept += [init for init in rewrite.constants if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph_model.opset_import[:]
    graph_model.opset_import.extend([helper.make_opsetid("", 20)])
    onnx.checker.check_model(graph_model)
    return graph_model


class _Rewrite:
    """Per-node rewrite of one graph; ``constants`` collects the float initialisers it adds."""

    def __init__(self, graph: Any) -> None:
        self.weights = {init.name: init for init in graph.initializer}
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.constants: list[Any] = []
        self.dropped: set[str] = set()  # first outputs of the nodes a float node stands in for

    def array(self, name: str) -> npt.NDArray[Any]:
        from onnx import numpy_helper

        if name not in self.weights:
            raise ValueError(f"{name!r} is not a constant of the Kokoro graph")
        return numpy_helper.to_array(self.weights[name])

    def constant(self, name: str, value: npt.NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.constants.append(numpy_helper.from_array(value, name))
        return name

    def only(self, name: str, op: str) -> Any:
        found = self.consumers.get(name, [])
        if len(found) != 1 or found[0].op_type != op:
            raise ValueError(f"unexpected Kokoro graph: {name!r} does not feed one {op}")
        return found[0]

    def node(self, node: Any) -> list[Any]:
        from onnx import helper

        op = node.op_type
        if node.output and node.output[0] in self.dropped:
            return []
        if op in ("MatMulInteger", "ConvInteger"):
            return [self.integer(node)]
        if op == "DequantizeLinear":
            return [self.dequantize(node)]
        if op == "DynamicQuantizeLSTM":
            return [self.lstm(node)]
        if op == "FastGelu":
            summed = f"{node.name}.sum"
            return [
                helper.make_node("Add", list(node.input[:2]), [summed]),
                helper.make_node("Gelu", [summed], [node.output[0]], approximate="tanh"),
            ]
        if op == "SkipLayerNormalization":
            if len(node.input) > 4 and node.input[4]:
                raise ValueError(f"unexpected Kokoro graph: {node.name!r} has a skip bias")
            eps = next(a.f for a in node.attribute if a.name == "epsilon")
            summed = node.output[3] if len(node.output) > 3 and node.output[3] else node.name
            return [
                helper.make_node("Add", list(node.input[:2]), [summed]),
                helper.make_node(
                    "LayerNormalization",
                    [summed, *node.input[2:4]],
                    [node.output[0]],
                    axis=-1,
                    epsilon=eps,
                ),
            ]
        if op == "FusedMatMul":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB") or attrs.get("alpha", 1.0) != 1.0 or attrs.get("transBatchA"):
                raise ValueError(f"unexpected Kokoro graph: {node.name!r} attributes {attrs}")
            a = node.input[0]
            nodes = []
            if attrs.get("transA"):
                a = f"{node.name}.aT"
                nodes.append(_swap_last(node.input[0], a))
            nodes.append(helper.make_node("MatMul", [a, node.input[1]], list(node.output)))
            return nodes
        if node.domain not in ("", "ai.onnx"):
            raise ValueError(f"unexpected Kokoro graph: no float rewrite for {node.domain}.{op}")
        return [node]

    def integer(self, node: Any) -> Any:
        """The float MatMul / Conv for an integer one; it stands in for the rescaling Mul."""
        from onnx import helper

        quantize = self.producer.get(node.input[0])
        if quantize is None or quantize.op_type != "DynamicQuantizeLinear":
            raise ValueError(f"unexpected Kokoro graph: {node.name!r} has a static input")
        after = self.consumers.get(node.output[0], [])
        bias_add = after[0] if len(after) == 1 and after[0].op_type == "Add" else None
        cast = self.only(bias_add.output[0] if bias_add else node.output[0], "Cast")
        rescale = self.only(cast.output[0], "Mul")
        scales = [i for i in self.producer[rescale.input[1]].input if i in self.weights]
        if len(scales) != 1:
            raise ValueError(f"unexpected Kokoro graph: no weight scale for {node.name!r}")
        self.dropped.update(n.output[0] for n in (bias_add, cast, rescale) if n is not None)
        q, zero, scale = self.array(node.input[1]), self.array(node.input[3]), self.array(scales[0])
        x = quantize.input[0]
        if node.op_type == "MatMulInteger":  # per output column: zero and scale are [N]
            w = (q.astype(np.float32) - zero.astype(np.float32)) * scale.astype(np.float32)
            weight = self.constant(f"{node.name}.w", w.astype(np.float32))
            return helper.make_node("MatMul", [x, weight], [rescale.output[0]])
        shape = (-1,) + (1,) * (q.ndim - 1)
        zero_f = zero.astype(np.float32).reshape(shape if zero.size > 1 else ())
        scale_f = scale.astype(np.float32).reshape(shape if scale.size > 1 else ())
        w = (q.astype(np.float32) - zero_f) * scale_f
        inputs = [x, self.constant(f"{node.name}.w", w.astype(np.float32))]
        if bias_add is not None:  # Reshape <- Cast <- Floor <- Div(bias, scale)
            p = self.producer
            div = p[p[p[p[bias_add.input[1]].input[0]].input[0]].input[0]]
            bias = self.array(div.input[0]).astype(np.float32).reshape(-1)
            inputs.append(self.constant(f"{node.name}.b", bias))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return helper.make_node("Conv", inputs, [rescale.output[0]], **attrs)

    def dequantize(self, node: Any) -> Any:
        """``Gather(int8 table) → DequantizeLinear`` as a Gather from the float table."""
        from onnx import helper

        gather = self.producer.get(node.input[0])
        if gather is None or gather.op_type != "Gather":
            raise ValueError(f"unexpected Kokoro graph: {node.name!r} does not follow a Gather")
        table = self.array(gather.input[0]).astype(np.float32) - self.array(node.input[2])
        table = table * self.array(node.input[1]).astype(np.float32)
        name = self.constant(f"{gather.input[0]}.float", table.astype(np.float32))
        attrs = {a.name: helper.get_attribute_value(a) for a in gather.attribute}
        return helper.make_node("Gather", [name, gather.input[1]], list(node.output), **attrs)

    def lstm(self, node: Any) -> Any:
        """``DynamicQuantizeLSTM`` as ``LSTM``: weights [dirs, in, 4h] → ONNX's [dirs, 4h, in]."""
        from onnx import helper

        inputs = list(node.input) + [""] * (12 - len(node.input))
        x, w, r, b, lengths, h0, c0, peep = inputs[:8]
        w_scale, w_zero, r_scale, r_zero = inputs[8:12]

        def dequant(q: str, scale: str, zero: str) -> str:
            z = self.array(zero).astype(np.float32)[:, None, None]
            s = self.array(scale).astype(np.float32)[:, None, None]
            value = ((self.array(q).astype(np.float32) - z) * s).transpose(0, 2, 1)
            return self.constant(f"{q}.float", np.ascontiguousarray(value, dtype=np.float32))

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return helper.make_node(
            "LSTM",
            [x, dequant(w, w_scale, w_zero), dequant(r, r_scale, r_zero), b, lengths, h0, c0, peep],
            list(node.output),
            **attrs,
        )


def _swap_last(src: str, dst: str) -> Any:
    """A node transposing the last two axes of a rank-3 tensor."""
    from onnx import helper

    return helper.make_node("Transpose", [src], [dst], perm=[0, 2, 1])


def live_nodes(nodes: list[Any], outputs: list[str]) -> list[Any]:
    """``nodes`` less those whose outputs nothing needs, in their original order."""
    needed = set(outputs)
    keep = [False] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        if any(out in needed for out in nodes[i].output):
            keep[i] = True
            needed.update(name for name in nodes[i].input if name)
    return [node for node, k in zip(nodes, keep, strict=True) if k]
