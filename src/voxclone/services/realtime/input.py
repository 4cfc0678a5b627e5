"""The input audio buffer of a realtime session: what the person said that no turn holds yet.

Times are milliseconds from the first sample the session was fed; the buffer keeps a window of
that stream (between turns only the prefix padding), so a long session holds little."""

from __future__ import annotations

import numpy as np

from voxclone.core.types import FloatArray


class InputBuffer:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._samples = np.zeros(0, dtype=np.float32)
        self._start = 0
        """The absolute index of the buffer's first sample."""
        self.fed = 0
        """Samples fed since the session began."""

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def seconds(self) -> float:
        return len(self._samples) / self.rate

    def samples(self, ms: float) -> int:
        """How many samples ``ms`` milliseconds hold."""
        return int(ms * self.rate / 1000)

    def feed(self, samples: FloatArray) -> None:
        self._samples = np.concatenate([self._samples, samples])
        self.fed += len(samples)

    def slice(self, start_ms: int, end_ms: int) -> FloatArray:
        """A copy of the audio between two times (what is still held of it)."""
        lo = max(0, self.samples(start_ms) - self._start)
        hi = max(lo, self.samples(end_ms) - self._start)
        return self._samples[lo:hi].copy()

    def take(self, start_ms: int, end_ms: int) -> FloatArray:
        """The audio of a turn, dropped from the buffer with everything before it."""
        audio = self.slice(start_ms, end_ms)
        self.drop_before(self.samples(end_ms))
        return audio

    def take_all(self) -> FloatArray:
        audio = self._samples
        self.clear()
        return audio

    def clear(self) -> None:
        self._samples = np.zeros(0, dtype=np.float32)
        self._start = self.fed

    def keep_last(self, count: int) -> None:
        self.drop_before(self.fed - count)

    def drop_before(self, sample: int) -> None:
        cut = min(len(self._samples), max(0, sample - self._start))
        if cut:
            self._samples = self._samples[cut:]
            self._start += cut
