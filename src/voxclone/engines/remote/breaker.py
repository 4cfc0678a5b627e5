"""A small circuit breaker for one URL of a remote engine.

Closed: requests flow. After ``failure_threshold`` consecutive failures it opens (the URL is
ejected) for ``reset_timeout_s``; then it is *due for a probe* (half-open): one caller at a time
may probe the URL (``try_begin_probe``) and report the outcome (``end_probe``), which closes the
breaker or opens it for another period. Real requests only go to closed breakers, so a URL comes
back by a health probe, never by gambling a user's request on it.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        reset_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if reset_timeout_s < 0:
            raise ValueError(f"reset_timeout_s must not be negative, got {reset_timeout_s}")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probing = False
        self.consecutive_failures = 0
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    @property
    def closed(self) -> bool:
        return self.state == BreakerState.CLOSED

    def retry_in_s(self) -> float:
        """Seconds until an open breaker is due for a probe (0 when closed or due)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.reset_timeout_s - self._clock())

    def record_success(self) -> None:
        with self._lock:
            self.consecutive_failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        """Count a failure; the breaker opens at the threshold (or again, if it was open)."""
        with self._lock:
            self.consecutive_failures += 1
            if self._opened_at is not None or self.consecutive_failures >= self.failure_threshold:
                self._open()

    def trip(self) -> None:
        """Open now, whatever the count (a health probe said the URL is down)."""
        with self._lock:
            self.consecutive_failures = max(self.consecutive_failures, 1)
            self._open()

    def try_begin_probe(self) -> bool:
        """True for exactly one caller while the breaker is due for a probe."""
        with self._lock:
            if self._state() != BreakerState.HALF_OPEN or self._probing:
                return False
            self._probing = True
            return True

    def end_probe(self, *, ok: bool) -> None:
        with self._lock:
            self._probing = False
            if ok:
                self.consecutive_failures = 0
                self._opened_at = None
            else:
                self._open()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def _open(self) -> None:
        if self._opened_at is None:
            self.times_opened += 1
        self._opened_at = self._clock()
