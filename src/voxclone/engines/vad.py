"""Voice activity detection with Silero VAD (the ONNX model of the ``silero-vad`` package).

The model scores 512-sample windows of 16 kHz audio, each prefixed by the last 64 samples of
the window before, and carries a recurrent state from window to window; both are threaded
through here exactly as the package's own ``OnnxWrapper`` does. The package itself is never
imported (its ``__init__`` imports torch): only its bundled ``silero_vad.onnx`` file is read,
and it runs on onnxruntime. The model is loaded on first use, once per process.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.audio.resample import resample
from voxclone.core.errors import EngineError, EngineUnavailable
from voxclone.core.types import Audio, FloatArray

INSTALL_HINT = "pip install --no-deps silero-vad onnxruntime"
RATE = 16000
WINDOW = 512
CONTEXT = 64
WINDOW_S = WINDOW / RATE


@dataclass(frozen=True, slots=True)
class VadOptions:
    """How window probabilities become segments (the defaults of silero's own helper)."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.25
    min_silence_s: float = 0.1
    pad_s: float = 0.03


class SileroVad:
    """One onnxruntime session of the Silero VAD model; thread-safe."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        path = Path(model_path) if model_path is not None else _bundled_model()
        try:
            import onnxruntime
        except ImportError as exc:
            raise EngineUnavailable(
                f"onnxruntime is not installed: {INSTALL_HINT}", backend="silero-vad"
            ) from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise EngineUnavailable(
                f"Silero VAD model {str(path)!r} cannot be loaded: {exc}", backend="silero-vad"
            ) from exc
        self._lock = threading.Lock()

    def probabilities(self, audio: Audio) -> FloatArray:
        """Speech probability of each 32 ms window (512 samples at 16 kHz), in order."""
        samples = resample(audio, RATE).samples
        count = -(-len(samples) // WINDOW)
        padded = np.zeros(count * WINDOW + CONTEXT, dtype=np.float32)
        padded[CONTEXT : CONTEXT + len(samples)] = samples
        state = np.zeros((2, 1, 128), dtype=np.float32)
        rate = np.array(RATE, dtype=np.int64)
        probs = np.empty(count, dtype=np.float32)
        try:
            with self._lock:
                for i in range(count):
                    # each input is the window plus the 64 samples before it (zeros at first)
                    chunk = padded[i * WINDOW : (i + 1) * WINDOW + CONTEXT][np.newaxis, :]
                    out, state = self._session.run(
                        None, {"input": chunk, "state": state, "sr": rate}
                    )
                    probs[i] = float(np.asarray(out).reshape(-1)[0])
        except Exception as exc:
            raise EngineError(f"Silero VAD failed: {exc}", backend="silero-vad") from exc
        return probs

    def window(self, chunk: FloatArray, state: FloatArray) -> tuple[float, FloatArray]:
        """One window's speech probability: ``chunk`` is the 64 samples of context and the 512
        of the window (16 kHz), ``state`` the recurrent state the window before left."""
        try:
            with self._lock:
                out, state = self._session.run(
                    None,
                    {
                        "input": chunk[np.newaxis, :],
                        "state": state,
                        "sr": np.array(RATE, dtype=np.int64),
                    },
                )
        except Exception as exc:
            raise EngineError(f"Silero VAD failed: {exc}", backend="silero-vad") from exc
        return float(np.asarray(out).reshape(-1)[0]), state

    def stream(self, sample_rate: int) -> VadStream:
        """Probabilities of audio that arrives a piece at a time, at ``sample_rate``."""
        return VadStream(self, sample_rate)

    def segments(
        self, audio: Audio, options: VadOptions | None = None
    ) -> list[tuple[float, float]]:
        """Speech segments as (start_s, end_s), padded, merged, clipped to the audio."""
        return segments_from_probs(
            self.probabilities(audio), options or VadOptions(), audio.duration_s
        )


class VadStream:
    """Window probabilities of a live stream: audio in any pieces, each complete 32 ms window
    scored once, with the model's state carried across pieces (one stream, one task)."""

    def __init__(self, vad: SileroVad, sample_rate: int) -> None:
        import soxr

        self._vad = vad
        self._resampler = (
            None if sample_rate == RATE else soxr.ResampleStream(sample_rate, RATE, 1, "float32")
        )
        self._pending = np.zeros(CONTEXT, dtype=np.float32)  # the context, then unscored samples
        self._state = np.zeros((2, 1, 128), dtype=np.float32)

    def feed(self, samples: FloatArray) -> list[float]:
        """The probability of each window ``samples`` completed, in order."""
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(np.ascontiguousarray(samples, np.float32))
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        probs: list[float] = []
        while len(self._pending) >= CONTEXT + WINDOW:
            prob, self._state = self._vad.window(self._pending[: CONTEXT + WINDOW], self._state)
            probs.append(prob)
            self._pending = self._pending[WINDOW:]
        return probs


def segments_from_probs(
    probs: FloatArray, options: VadOptions, duration_s: float
) -> list[tuple[float, float]]:
    """Hysteresis over window probabilities: enter at ``threshold``, leave below ``neg``."""
    raw: list[list[float]] = []
    start: float | None = None
    silent_since: float | None = None
    for i, p in enumerate(probs):
        t = i * WINDOW_S
        if p >= options.threshold:
            silent_since = None
            if start is None:
                start = t
        elif start is not None and p < options.neg_threshold:
            if silent_since is None:
                silent_since = t
            if t + WINDOW_S - silent_since >= options.min_silence_s:
                raw.append([start, silent_since])
                start, silent_since = None, None
    if start is not None:
        raw.append([start, len(probs) * WINDOW_S])
    kept = [s for s in raw if s[1] - s[0] >= options.min_speech_s]
    merged: list[list[float]] = []
    for s in kept:
        lo, hi = max(0.0, s[0] - options.pad_s), min(duration_s, s[1] + options.pad_s)
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(round(a, 4), min(round(b, 4), duration_s)) for a, b in merged if b > a]


_default: SileroVad | None = None
_default_lock = threading.Lock()


def default_vad() -> SileroVad:
    """The process-wide Silero VAD, loaded on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SileroVad()
        return _default


def speech_segments(audio: Audio) -> list[tuple[float, float]]:
    """Where ``audio`` holds speech, as (start_s, end_s) pairs."""
    return default_vad().segments(audio)


def speech_ratio(audio: Audio) -> float:
    """The share of ``audio``'s duration that is speech, in [0, 1]."""
    if audio.duration_s <= 0:
        return 0.0
    total = sum(b - a for a, b in speech_segments(audio))
    return min(1.0, total / audio.duration_s)


def trim_silence(audio: Audio, *, keep_gap_s: float = 0.15) -> Audio:
    """``audio`` with only its speech: leading, trailing and inner pauses cut.

    Inner pauses are shortened to ``keep_gap_s`` of the original signal rather than removed,
    so words do not run into each other. Returns an empty Audio when nothing is speech.
    """
    segments = speech_segments(audio)
    rate = audio.sample_rate
    parts: list[FloatArray] = []
    for i, (a, b) in enumerate(segments):
        end = b if i == len(segments) - 1 else min(segments[i + 1][0], b + keep_gap_s)
        parts.append(audio.samples[int(a * rate) : int(end * rate)])
    if not parts:
        return Audio(np.zeros(0, dtype=np.float32), rate)
    return Audio(np.concatenate(parts).astype(np.float32, copy=False), rate)


def _bundled_model() -> Path:
    """The ``silero_vad.onnx`` inside the installed package, found without importing it."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            f"Silero VAD is not installed: {INSTALL_HINT}", backend="silero-vad"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise EngineUnavailable(
            f"the silero-vad package has no {path.name} at {str(path)!r}: {INSTALL_HINT}",
            backend="silero-vad",
        )
    return path
