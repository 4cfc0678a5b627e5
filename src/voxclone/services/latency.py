"""Recent latency of each engine, for the admin's engine list (``GET /v1/engines``).

A rolling window of the last ``WINDOW`` calls per engine (a synthesis, a transcription, a
denoise), kept in memory by this process: percentiles of what happened lately, exact over the
window, rather than the cumulative, bucketed Prometheus histograms of ``GET /metrics``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

WINDOW = 256


@dataclass(frozen=True, slots=True)
class LatencyStats:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples: int


class LatencyRecorder:
    """Thread-safe: engines run in worker threads and report from there or the event loop."""

    def __init__(self, window: int = WINDOW) -> None:
        self._window = window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, engine: str, seconds: float) -> None:
        with self._lock:
            calls = self._calls.setdefault(engine, deque(maxlen=self._window))
            calls.append(max(0.0, seconds) * 1000.0)

    def stats(self, engine: str) -> LatencyStats | None:
        """None until the engine has been called."""
        with self._lock:
            values = sorted(self._calls.get(engine, ()))
        if not values:
            return None
        return LatencyStats(
            p50_ms=_percentile(values, 50),
            p95_ms=_percentile(values, 95),
            p99_ms=_percentile(values, 99),
            samples=len(values),
        )


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), rounded to 0.1 ms."""
    if len(ordered) == 1:
        return round(ordered[0], 1)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 1)
