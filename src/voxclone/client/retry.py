"""When and how long to wait before sending a refused request again.

Retries use tenacity (already a voxclone dependency, well kept, sync and async alike) rather
than an httpx transport: a transport sees only the raw response, while here the decision is
made on the mapped exception, which knows the status and ``Retry-After``. Only 429 and 503 are
retried: the server refused the request before doing any work, so sending it again is safe
even for a POST. ``Retry-After`` is honoured exactly; without it the wait doubles from
``backoff_s``. A wait longer than ``max_wait_s`` is not waited: the error is raised at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenacity import RetryCallState

from voxclone.client.errors import RateLimited, ServiceUnavailable


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    """Retries after the first try (0: never retry)."""
    backoff_s: float = 0.5
    """The first wait when the server sends no Retry-After; doubled each time."""
    max_wait_s: float = 120.0
    """The longest single wait accepted; a longer Retry-After raises at once."""

    def wait_for(self, exc: BaseException | None, attempt: int) -> float:
        if isinstance(exc, RateLimited | ServiceUnavailable) and exc.retry_after_s is not None:
            return exc.retry_after_s
        return float(self.backoff_s * 2 ** max(0, attempt - 1))

    def retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, RateLimited | ServiceUnavailable)

    # tenacity hooks -------------------------------------------------------------------------

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_for(exc, state.attempt_number)

    def stop(self, state: RetryCallState) -> bool:
        if state.attempt_number > self.max_retries:
            return True
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_for(exc, state.attempt_number) > self.max_wait_s
