"""Small engine doubles for tests of the plumbing around the speech services (metering, say):
a denoiser that returns its input, and a speaker embedder that hears one voice in everything.

Registered by path, as real engines are: ``EngineSpec("deepfilternet",
"tests.speech_fakes:IdentityDenoiser", kind="denoise")``.
"""

from __future__ import annotations

import numpy as np

from voxclone.core.types import Audio, FloatArray


class _PassThrough:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate

    def process(self, samples: FloatArray) -> FloatArray:
        return samples

    def flush(self) -> FloatArray:
        return np.zeros(0, dtype=np.float32)

    def close(self) -> None: ...


class IdentityDenoiser:
    def __init__(self, name: str) -> None:
        self.name = name
        self.version = "identity-1"

    def denoise(self, audio: Audio) -> Audio:
        return audio

    def open_stream(self, sample_rate: int) -> _PassThrough:
        return _PassThrough(sample_rate)

    def close(self) -> None: ...


class OneVoiceEmbedder:
    def __init__(self, name: str, dim: int = 256) -> None:
        self.name = name
        self.version = "one-voice-1"
        self._vector = np.full(dim, 1 / np.sqrt(dim), dtype=np.float32)

    def embed(self, audio: Audio) -> FloatArray:
        return self._vector.copy()

    def close(self) -> None: ...
