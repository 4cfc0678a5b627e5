"""A scripted denoiser and speaker embedder, for tests of the plumbing around remote ones."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from voxclone.core.types import Audio, FloatArray


class ScriptedSpeech:
    """A denoiser and embedder for plumbing tests: waits ``delay_s``, then fails or answers
    (the denoiser halves the samples, the embedder returns a fixed unit vector)."""

    name = "scripted"
    version = "scripted-1"

    def __init__(self, *, delay_s: float = 0.0, fail: bool = False) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.calls = 0

    def _work(self) -> None:
        self.calls += 1
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("failed on purpose")

    def denoise(self, audio: Audio) -> Audio:
        self._work()
        return Audio(audio.samples * 0.5, audio.sample_rate)

    def open_stream(self, sample_rate: int) -> Any:
        raise NotImplementedError

    def embed(self, audio: Audio) -> FloatArray:
        self._work()
        return np.full(4, 0.5, dtype=np.float32)

    def close(self) -> None:
        pass
