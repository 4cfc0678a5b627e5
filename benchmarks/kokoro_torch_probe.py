"""Can Kokoro run differentiably on this CPU, so a voice's style vector can be fitted by gradient?

    .venv/bin/python benchmarks/kokoro_torch_probe.py [--threads 2] [--text "..."]

Issue 15's first step. The shipped int8 ONNX graph is dequantised into a float graph of
standard operators (``kokoro_float``), which onnxruntime runs as a check, and which
``kokoro_torch`` runs node by node in PyTorch. One sentence, one stock voice; one table:

- ``int8 ONNX``: the graph the ``local`` engine runs (the yardstick's yardstick);
- ``float ONNX``: the dequantised graph in onnxruntime; its durations are rounded from slightly
  different activations, so its audio is compared by durations and log-spectral distance;
- ``float ONNX, style x(1+1e-6)``: how far the graph itself moves for an inaudible change: the
  floor under which a difference is noise (Kokoro's waveform is chaotic through its harmonic
  source's phase, so sample SNR says little past ~20 dB);
- ``onnx2torch``: the converter the issue names, if installed: which operators it lacks;
- ``torch``: the PyTorch run. SNR against the float graph free-running, and with the harmonic
  source's STFT pinned to onnxruntime's (removes the chaotic phase); the gradient of a
  log-spectrogram loss toward another voice (rendered with the same durations) with respect to
  the style vector: finite, non-zero, per half, and checked against a central finite difference
  along the gradient; seconds for a forward pass and a forward + backward pass.

The model comes from the installed part packages (joined into ``--data-dir`` once) or
``--model``; the voices from the shared models folder or ``--voices``. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.engines.kokoro_assets import (
    default_shared_models_dir,
    load_tokenizer,
    load_voices,
    resolve_model,
    resolve_voices,
)
from voxclone.engines.kokoro_float import float_graph
from voxclone.engines.kokoro_torch import KokoroTorch, durations_name

TEXT = "The quick brown fox jumps over the lazy dog."
REWRITTEN = (
    "MatMulInteger",
    "ConvInteger",
    "DequantizeLinear",
    "DynamicQuantizeLSTM",
    "FastGelu",
    "SkipLayerNormalization",
    "FusedMatMul",
)
Array = npt.NDArray[np.float32]


@dataclass
class Row:
    route: str
    ops: str
    audio_s: float
    snr_db: float | None
    pinned_snr_db: float | None
    lsd: float | None
    grad: str
    forward_s: float | None
    backward_s: float | None


def snr_db(reference: Array, other: Array) -> float:
    """Sample SNR of ``other`` against ``reference`` over their common length."""
    n = min(len(reference), len(other))
    ref, diff = reference[:n].astype(np.float64), (reference[:n] - other[:n]).astype(np.float64)
    return float(10 * np.log10((ref**2).sum() / max((diff**2).sum(), 1e-30)))


def log_spectral_distance(reference: Array, other: Array) -> float:
    """Mean |Δ log10 power| over 1024-point frames (as ``kokoro_fidelity``); another voice > 1."""

    def power(x: Array) -> Array:
        frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::256] * np.hanning(1024)
        spectrum: Array = np.log10(np.abs(np.fft.rfft(frames, axis=-1)) ** 2 + 1e-10)
        return spectrum

    n = min(len(reference), len(other))
    return float(np.abs(power(reference[:n]) - power(other[:n])).mean())


def session(graph: Any, threads: int, extra: list[str]) -> Any:
    import onnx
    import onnxruntime

    model = onnx.ModelProto()
    model.CopyFrom(graph)
    for name in extra:
        model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def onnx2torch_row(graph: Any) -> Row:
    """Which of the float graph's operators onnx2torch has no converter for (if installed)."""
    try:
        from onnx import defs
        from onnx2torch.node_converters.registry import (  # type: ignore[import-not-found,unused-ignore]
            get_converter,
        )
    except ImportError as exc:  # it needs torchvision, whose wheels pull a CUDA torch
        note = f"not installed ({exc.name})"
        return Row("onnx2torch", note, 0, None, None, None, "-", None, None)
    version = max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx"))
    missing = set()
    for op in sorted({n.op_type for n in graph.node}):
        try:
            since = defs.get_schema(op, version, "").since_version
            get_converter(domain="", operation_type=op, version=since)
        except Exception:  # NotImplementedError from onnx2torch, SchemaError from onnx
            missing.add(op)
    note = f"lacks {','.join(sorted(missing)) or '-'}"
    return Row("onnx2torch", note, 0, None, None, None, "-", None, None)


def log_spec(audio: Any) -> Any:
    import torch

    window = torch.hann_window(1024)
    spec = torch.stft(audio, 1024, 256, window=window, return_complex=True)
    return torch.log(spec.abs() ** 2 + 1e-6)


def gradient_check(
    model: KokoroTorch,
    tokens: list[int],
    style: Array,
    frames: Any,
    goal: Any,
    *,
    source_grad: bool,
) -> tuple[str, float]:
    """The style gradient of the loss toward ``goal``: norms, finite-difference check, seconds."""
    import torch

    def loss_at(s: Any) -> Any:
        audio = model(tokens, s, durations=frames, source_grad=source_grad)["audio"]
        return (log_spec(audio) - goal).pow(2).mean()

    s = torch.from_numpy(style.copy()).requires_grad_()

    def step() -> Any:
        value = loss_at(s)
        value.backward()
        return value

    loss, seconds = timed(step)
    g = s.grad
    if g is None:
        return "no gradient", seconds
    norm = float(g.norm())
    with torch.no_grad():
        eps, direction = 1e-3, g / g.norm()
        numeric = (loss_at(s + eps * direction) - loss_at(s - eps * direction)) / (2 * eps)
        stepped = model(tokens, s - 0.05 * direction, durations=frames, source_grad=True)
        after = float((log_spec(stepped["audio"]) - goal).pow(2).mean())
    text = (
        f"{'finite' if bool(torch.isfinite(g).all()) else 'NOT finite'} |g| {norm:.3g} "
        f"(timbre {float(g[0, :128].norm()):.3g}, prosody {float(g[0, 128:].norm()):.3g}); "
        f"finite diff / analytic {float(numeric) / max(norm, 1e-30):.2f}; "
        f"loss {float(loss):.3f} -> {after:.3f} after a 0.05 step"
    )
    return text, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--voices", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--voice", default="af_heart")
    parser.add_argument("--target", default="am_michael", help="the voice the loss pulls toward")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import onnx
    import torch

    torch.set_num_threads(args.threads)
    int8 = onnx.load(str(resolve_model(args.model, args.data_dir)))
    voices = load_voices(resolve_voices(args.voices, args.data_dir, default_shared_models_dir()))
    tokenizer = load_tokenizer()
    tokens = tokenizer.tokenize(tokenizer.phonemize(args.text, "en-us"))
    style = voices[args.voice].reshape(-1, 256)[len(tokens)].reshape(1, 256).astype(np.float32)
    target = voices[args.target].reshape(-1, 256)[len(tokens)].reshape(1, 256)
    feeds = {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": style,
        "speed": np.array([1.0], dtype=np.float32),
    }
    durations = durations_name(int8.graph)
    stft = "/decoder/decoder/generator/STFT_output_0"
    rows = []

    (audio8, dur8), t8 = timed(lambda: session(int8, args.threads, [durations]).run(None, feeds))
    rows.append(Row("int8 ONNX", "-", len(audio8) / 24000, None, None, None, "-", t8, None))

    graph, _ = timed(lambda: float_graph(int8))
    n_rewritten = sum(1 for n in int8.graph.node if n.op_type in REWRITTEN)
    float_session = session(graph, args.threads, [durations, stft])
    (audio_f, dur_f, stft_f), tf = timed(lambda: float_session.run(None, feeds))
    same = float(np.mean(dur8 == dur_f))
    rows.append(
        Row(
            "float ONNX",
            f"{n_rewritten} rewritten; durations = int8's for {same:.0%} of tokens",
            len(audio_f) / 24000,
            snr_db(audio8, audio_f),
            None,
            log_spectral_distance(audio8, audio_f),
            "-",
            tf,
            None,
        )
    )
    nudged = float_session.run(None, {**feeds, "style": style * np.float32(1 + 1e-6)})[0]
    rows.append(
        Row(
            "float ONNX, style x(1+1e-6)",
            "-",
            len(nudged) / 24000,
            snr_db(audio_f, nudged),
            None,
            log_spectral_distance(audio_f, nudged),
            "-",
            None,
            None,
        )
    )
    rows.append(onnx2torch_row(graph))

    model, _ = timed(lambda: KokoroTorch(graph))
    with torch.no_grad():
        out, t_fwd = timed(lambda: model(tokens, torch.from_numpy(style)))
        free = out["audio"].numpy()
        pinned = model(tokens, torch.from_numpy(style), pinned={stft: torch.from_numpy(stft_f)})
        frames = out["durations"].detach()
        goal = log_spec(model(tokens, torch.from_numpy(target), durations=frames)["audio"])

    with torch.no_grad():
        at8 = model(tokens, torch.from_numpy(style), durations=torch.from_numpy(dur8))["audio"]
    nudged8 = session(int8, args.threads, []).run(None, {**feeds, "style": style * (1 + 1e-6)})[0]
    rows.append(
        Row(
            "int8 ONNX, style x(1+1e-6)*",
            "-",
            len(nudged8) / 24000,
            snr_db(audio8, nudged8),
            None,
            log_spectral_distance(audio8, nudged8),
            "-",
            None,
            None,
        )
    )
    rows.append(
        Row(
            "torch, int8's durations*",
            "float weights = dequantised int8 ones",
            len(at8) / 24000,
            snr_db(audio8, at8.numpy()),
            None,
            log_spectral_distance(audio8, at8.numpy()),
            "-",
            None,
            None,
        )
    )
    for source_grad in (False, True):
        grad, t_bwd = gradient_check(model, tokens, style, frames, goal, source_grad=source_grad)
        rows.append(
            Row(
                f"torch, source grad {'on' if source_grad else 'off'}",
                f"{len({n.op_type for n in model.graph.nodes})} op types, 0 unsupported",
                len(free) / 24000,
                snr_db(audio_f, free),
                snr_db(audio_f, pinned["audio"].numpy()),
                log_spectral_distance(audio_f, free),
                grad,
                t_fwd,
                t_bwd,
            )
        )
    print(
        f"Kokoro in PyTorch: {len(tokens)} tokens of {args.text!r}, voice {args.voice}, "
        f"loss toward {args.target}'s log spectrogram; {args.threads} torch/ORT threads; "
        "SNR and log-spectral distance (LSD) against the float ONNX graph unless noted"
    )
    header = (
        f"{'route':<28} {'audio s':>7} {'SNR dB':>7} {'pinned':>7} {'LSD':>6} "
        f"{'fwd s':>6} {'fwd+bwd s':>9}  ops / gradient"
    )
    print(header)
    print("-" * len(header))

    def num(value: float | None, width: int, digits: int) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

    for r in rows:
        tail = r.ops if r.grad == "-" else f"{r.ops}; {r.grad}"
        print(
            f"{r.route:<28} {r.audio_s:>7.2f} {num(r.snr_db, 7, 1)} {num(r.pinned_snr_db, 7, 1)} "
            f"{num(r.lsd, 6, 3)} {num(r.forward_s, 6, 2)} {num(r.backward_s, 9, 2)}  {tail}"
        )
    print(
        "float ONNX and * rows: against the int8 graph (the float ONNX row with other durations, "
        "so its SNR and LSD are misaligned). 'pinned': the harmonic source's STFT set to "
        "onnxruntime's. Gradient: log-spectrogram MSE toward the target voice at the same "
        "durations; the 0.05 step is along -gradient, loss re-measured with the source free."
    )


if __name__ == "__main__":
    main()
