import pytest

from voxclone.engines.remote.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state == BreakerState.OPEN and breaker.times_opened == 1


def test_half_open_after_the_rest_then_one_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=10, clock=clock)
    breaker.record_failure()
    assert breaker.retry_in_s() == 10
    assert not breaker.try_begin_probe()
    clock.now += 10
    assert breaker.state == BreakerState.HALF_OPEN and breaker.retry_in_s() == 0
    assert breaker.try_begin_probe()
    assert not breaker.try_begin_probe()  # one prober at a time
    breaker.end_probe(ok=False)
    assert breaker.state == BreakerState.OPEN and breaker.retry_in_s() == 10
    clock.now += 10
    assert breaker.try_begin_probe()
    breaker.end_probe(ok=True)
    assert breaker.state == BreakerState.CLOSED and breaker.consecutive_failures == 0


def test_trip_opens_at_once_and_failures_while_open_extend_the_rest() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=10, clock=clock)
    breaker.trip()
    assert breaker.state == BreakerState.OPEN
    clock.now += 6
    breaker.record_failure()
    assert breaker.retry_in_s() == 10
    assert breaker.times_opened == 1


@pytest.mark.parametrize(("threshold", "reset"), [(0, 1.0), (1, -1.0)])
def test_bad_arguments(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=threshold, reset_timeout_s=reset)
