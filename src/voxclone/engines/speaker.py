"""Speaker embeddings with Resemblyzer (the GE2E encoder, 256 dimensions, on the CPU).

The encoder is loaded on first use, once per process. Torch runs it with one thread: on two
shared cores, two threads are slower and erratic under load (35 ms per 5 s clip with one).
Audio is resampled to 16 kHz here; Resemblyzer's ``preprocess_wav`` then normalises the volume
and cuts long silences (webrtcvad) before the encoder sees it.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.audio.resample import resample
from voxclone.core.errors import EngineError, EngineUnavailable
from voxclone.core.types import Audio

INSTALL_HINT = 'pip install resemblyzer "setuptools<81" (and a CPU build of torch)'
RATE = 16000
DIM = 256
MIN_SECONDS = 0.3

Embedding = npt.NDArray[np.float32]


class SpeakerEncoder:
    """One Resemblyzer ``VoiceEncoder``; thread-safe."""

    def __init__(self) -> None:
        try:
            import torch

            with warnings.catch_warnings():
                # webrtcvad, which resemblyzer imports, imports the deprecated pkg_resources
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                from resemblyzer import (  # type: ignore[import-untyped]
                    VoiceEncoder,
                    preprocess_wav,
                )
        except ImportError as exc:
            raise EngineUnavailable(
                f"Resemblyzer cannot be imported ({exc}): {INSTALL_HINT}", backend="resemblyzer"
            ) from exc
        torch.set_num_threads(1)
        try:
            self._encoder: Any = VoiceEncoder("cpu", verbose=False)
        except Exception as exc:  # torch raises RuntimeError, OSError, ...
            raise EngineUnavailable(
                f"the Resemblyzer encoder cannot be loaded: {exc}", backend="resemblyzer"
            ) from exc
        self._preprocess: Any = preprocess_wav
        self._set_threads: Any = torch.set_num_threads
        self._lock = threading.Lock()

    def embed(self, audio: Audio) -> Embedding:
        """The unit-length speaker embedding of ``audio`` (shape (256,), float32)."""
        if audio.duration_s < MIN_SECONDS:
            raise ValueError(
                f"audio of {audio.duration_s:.2f} s is too short to embed; "
                f"need at least {MIN_SECONDS} s"
            )
        samples = resample(audio, RATE).samples.astype(np.float32)
        try:
            with self._lock:
                # OpenMP's thread count is per thread: set it in the calling (worker) thread
                # too, or torch runs one thread per core there (200 ms to 6 s under load).
                self._set_threads(1)
                wav = self._preprocess(samples, source_sr=RATE)
                if len(wav) < MIN_SECONDS * RATE:
                    wav = samples  # webrtcvad found (almost) no voice: embed what there is
                vector = self._encoder.embed_utterance(wav)
        except Exception as exc:
            raise EngineError(f"Resemblyzer failed: {exc}", backend="resemblyzer") from exc
        return _unit(np.asarray(vector, dtype=np.float32))


_default: SpeakerEncoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> SpeakerEncoder:
    """The process-wide speaker encoder, loaded on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SpeakerEncoder()
        return _default


def embed(audio: Audio) -> Embedding:
    """The speaker embedding of ``audio`` with the process-wide encoder."""
    return default_encoder().embed(audio)


class ResemblyzerEmbedder:
    """The ``resemblyzer`` engine (kind ``embed``): the process-wide encoder behind the
    ``Embedder`` protocol, so biometrics and voice fitting share one loaded model."""

    version = "resemblyzer-ge2e-256"

    def __init__(self, name: str = "resemblyzer") -> None:
        self.name = name
        self._encoder = default_encoder()

    def embed(self, audio: Audio) -> Embedding:
        return self._encoder.embed(audio)

    def close(self) -> None:
        """Nothing to release: the encoder is shared with fitting and lives with the process."""


def similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cosine similarity of two embeddings, in [-1, 1]."""
    u = np.asarray(a, dtype=np.float64).reshape(-1)
    v = np.asarray(b, dtype=np.float64).reshape(-1)
    if u.shape != v.shape:
        raise ValueError(f"embeddings differ in shape: {u.shape} and {v.shape}")
    norm = float(np.linalg.norm(u) * np.linalg.norm(v))
    if norm == 0.0:
        raise ValueError("cannot compare an all-zero embedding")
    return float(np.dot(u, v) / norm)


def _unit(vector: Embedding) -> Embedding:
    norm = float(np.linalg.norm(vector))
    return vector if norm == 0.0 else (vector / norm).astype(np.float32)
