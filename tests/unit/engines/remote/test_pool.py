"""EndpointPool with httpx's MockTransport at the network boundary (no sockets)."""

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from voxclone.core.errors import (
    EngineUnavailable,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from voxclone.engines.remote.pool import (
    EndpointPool,
    LatencyWindow,
    PoolPolicy,
    build_pool,
    probe_status_json,
)
from voxclone.engines.remote.wire import check_status, fetch

A, B, C = "http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000"
POLICY = {"allow_private_urls": True, "backoff_s": 0.0, "max_backoff_s": 0.0, "eject_s": 30.0}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(
    urls: list, handler: Callable[[httpx.Request], httpx.Response], clock=None, **policy
) -> EndpointPool:
    return EndpointPool(
        engine="gpu",
        urls=urls,
        policy=PoolPolicy.from_options({**POLICY, **policy}),
        probe=probe_status_json("/health"),
        transport=httpx.MockTransport(handler),
        clock=clock or Clock(),
    )


def generate(pool: EndpointPool) -> str:
    """One request through the pool; returns the base URL that answered."""

    def attempt(client: httpx.Client, base: str) -> str:
        reply = fetch(client, "POST", f"{base}/v1/generate", engine="gpu", max_bytes=10_000)
        check_status(reply, engine="gpu", url=base)
        return base

    return pool.call(attempt)


def status(pool: EndpointPool, url: str) -> str:
    return next(s.state for s in pool.endpoints() if s.url == url)


def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def origin(request: httpx.Request) -> str:
    return f"http://{request.url.host}:{request.url.port}"


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "healthy"})


def test_weighted_round_robin_when_idle() -> None:
    pool = make_pool([A, B, {"url": C, "weight": 2}], ok)
    served = Counter(generate(pool) for _ in range(8))
    assert served == {A: 2, B: 2, C: 4}


def test_least_outstanding_requests_first() -> None:
    release = threading.Event()
    entered = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if origin(request) == A:
            entered.set()
            release.wait(5)
        return ok(request)

    pool = make_pool([A, B], handler)
    busy = threading.Thread(target=generate, args=(pool,))
    busy.start()
    assert entered.wait(5)
    try:
        assert [generate(pool) for _ in range(3)] == [B, B, B]  # A is still busy
        assert {s.url: s.outstanding for s in pool.endpoints()} == {A: 1, B: 0}
    finally:
        release.set()
        busy.join()


def test_a_5xx_is_retried_on_another_url() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(origin(request))
        if origin(request) == A:
            return httpx.Response(503, text="overloaded")
        return ok(request)

    pool = make_pool([A, B], handler)
    assert generate(pool) == B
    assert seen == [A, B]
    status = {s.url: s for s in pool.endpoints()}
    assert status[A].failures == 1 and status[A].state == "up"  # one failure of three
    assert status[B].samples == 1 and status[B].p50_ms is not None


def test_a_4xx_is_neither_retried_nor_counted() -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[origin(request)] += 1
        return httpx.Response(422, json={"message": "unsupported language"})

    pool = make_pool([A, B], handler, eject_after=1)
    with pytest.raises(ProviderRejected, match="unsupported language"):
        generate(pool)
    assert sum(calls.values()) == 1
    assert all(s.state == "up" and s.failures == 0 for s in pool.endpoints())


def test_a_read_timeout_is_not_retried_unless_asked() -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[origin(request)] += 1
        raise httpx.ReadTimeout("slow", request=request)

    pool = make_pool([A, B], handler)
    with pytest.raises(ProviderTimeout, match="timed out waiting for the reply"):
        generate(pool)
    assert sum(calls.values()) == 1
    retrying = make_pool([A, B], handler, retry_timeouts=True, retries=1)
    with pytest.raises(ProviderTimeout):
        generate(retrying)
    assert sum(calls.values()) == 3


def test_connection_failures_eject_then_nothing_is_left() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    pool = make_pool([A, B], handler, eject_after=1, retries=5)
    with pytest.raises(ProviderError, match="cannot connect") as info:
        generate(pool)
    assert not isinstance(info.value, ProviderUnavailable)  # the real reason, not "no URL"
    assert {s.state for s in pool.endpoints()} == {"ejected"}
    with pytest.raises(ProviderUnavailable, match="no URL in rotation"):
        generate(pool)
    health = pool.state()
    assert not health.available and "cannot connect" in health.detail


def test_an_ejected_url_comes_back_through_a_probe() -> None:
    clock = Clock()
    down = {A}
    probes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            probes.append(origin(request))
        if origin(request) in down:
            raise httpx.ConnectError("refused", request=request)
        return ok(request)

    pool = make_pool([A, B], handler, clock=clock, eject_after=1, eject_s=10.0)
    assert {generate(pool) for _ in range(4)} == {B}  # A failed once and is out
    clock.now += 10
    assert generate(pool) == B  # A is due: probed in the background, B takes the request
    eventually(lambda: probes == [A] and status(pool, A) == "ejected")  # still down: 10 s more
    down.clear()
    clock.now += 10
    generate(pool)
    eventually(lambda: status(pool, A) == "up")
    assert probes == [A, A]
    assert {generate(pool) for _ in range(2)} == {A, B}


def test_with_nowhere_else_to_go_the_probe_comes_first() -> None:
    clock = Clock()
    down = {A}

    def handler(request: httpx.Request) -> httpx.Response:
        if origin(request) in down:
            raise httpx.ConnectError("refused", request=request)
        return ok(request)

    pool = make_pool([A], handler, clock=clock, eject_after=1, eject_s=10.0, retries=0)
    with pytest.raises(ProviderError):
        generate(pool)
    down.clear()
    clock.now += 10
    assert generate(pool) == A  # probed inline, back, and used by this very request


def test_health_probes_at_most_every_interval_and_trips_on_failure() -> None:
    clock = Clock()
    probes = Counter[str]()
    healthy = {A: True, B: True}

    def handler(request: httpx.Request) -> httpx.Response:
        probes[origin(request)] += 1
        if not healthy[origin(request)]:
            return httpx.Response(200, json={"status": "unhealthy"})
        return ok(request)

    pool = make_pool([A, B], handler, clock=clock, health_interval_s=10.0)
    assert pool.health().available and probes == {A: 1, B: 1}
    assert pool.health().available and probes == {A: 1, B: 1}  # not again so soon
    healthy[A] = False
    clock.now += 10
    state = pool.health()
    assert state.available and state.detail == "1 of 2 URL(s) up"
    assert {s.url: s.state for s in pool.endpoints()} == {A: "ejected", B: "up"}
    healthy[B] = False
    assert not pool.health(force=True).available


def test_refused_addresses_are_skipped_and_all_refused_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="ALLOW_LOOPBACK_URLS"):
        make_pool(["http://127.0.0.1:9000"], ok)
    pool = make_pool(["http://169.254.169.254", A], ok)
    assert {generate(pool) for _ in range(3)} == {A}
    assert {s.url: s.state for s in pool.endpoints()}["http://169.254.169.254"] == "refused"


@pytest.mark.parametrize(
    ("urls", "policy", "problem"),
    [
        ([], {}, "no URLs"),
        ([A, A], {}, "twice"),
        (["ftp://x"], {}, "http"),
        ([{"url": A, "weight": 0}], {}, "weight"),
        ([A], {"colour": "blue"}, "unknown remote engine options"),
        ([A], {"timeout_s": 0}, "positive"),
    ],
)
def test_bad_configuration_makes_the_engine_unavailable(urls, policy, problem) -> None:
    with pytest.raises((EngineUnavailable, ValueError), match=problem):
        build_pool("gpu", urls, policy={**POLICY, **policy}, probe=probe_status_json("/health"))


def test_latency_window() -> None:
    window = LatencyWindow(size=4)
    assert window.percentile(50) is None
    for ms in (5.0, 1.0, 3.0, 2.0, 4.0):  # the 5 falls out of the window
        window.add(ms)
    assert len(window) == 4
    assert (window.percentile(50), window.percentile(95), window.percentile(100)) == (2, 4, 4)
