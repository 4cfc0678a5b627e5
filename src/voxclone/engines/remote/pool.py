"""One remote engine's URLs: balancing, retries with back-off, ejection, probes and latency.

``EndpointPool.call(attempt)`` runs ``attempt(client, base_url)`` against a chosen URL:

- **balancing**: the URL with the fewest outstanding requests per unit of weight; ties (an idle
  pool) are broken by smooth weighted round robin, so weights hold under light load too;
- **retries** (tenacity, exponential back-off with jitter): a connection that fails or drops, a
  5xx/429 or an unusable reply is tried again on another URL, up to ``retries`` more times; a
  timeout is not (the provider may still be working on it) unless ``retry_timeouts`` is set;
- **ejection**: every URL has a circuit breaker; ``eject_after`` consecutive failures take it
  out of rotation for ``eject_s``, after which a health probe decides whether it comes back;
- **latency**: each URL keeps its last 256 successful request times for p50/p95.

One pooled ``httpx.Client`` serves all URLs (connections are kept alive per URL). The pool is
thread-safe: engines are called from worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from voxclone.core.errors import (
    EngineUnavailable,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    VoxcloneError,
)
from voxclone.core.types import Audio
from voxclone.engines.base import EndpointStatus, EngineHealth, Transcript
from voxclone.engines.remote.breaker import BreakerState, CircuitBreaker
from voxclone.engines.remote.urls import (
    UrlPolicy,
    UrlRefused,
    UrlUnresolved,
    check_url,
    normalize_base_url,
    redact,
)
from voxclone.engines.remote.wire import (
    EndpointFault,
    Reply,
    audio_from_file,
    check_status,
    fetch,
    transcript_from_json,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Attempt = Callable[[httpx.Client, str], T]
Probe = Callable[[httpx.Client, str, float], None]
"""``probe(client, base_url, timeout_s)``: returns if the URL is healthy, raises otherwise."""

LATENCY_WINDOW = 256


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    """How a remote engine treats its URLs (defaults from ``RemoteSettings``)."""

    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    health_timeout_s: float = 2.0
    health_interval_s: float = 10.0
    retries: int = 2
    backoff_s: float = 0.05
    max_backoff_s: float = 1.0
    eject_after: int = 3
    eject_s: float = 10.0
    retry_timeouts: bool = False
    allow_loopback_urls: bool = False
    allow_private_urls: bool = False
    max_connections: int = 100
    max_response_bytes: int = 256 * 1024 * 1024

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> PoolPolicy:
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown remote engine options {unknown}; known: {sorted(known)}")
        policy = cls(**options)
        if policy.timeout_s <= 0 or policy.connect_timeout_s <= 0 or policy.health_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if policy.retries < 0:
            raise ValueError(f"retries must not be negative, got {policy.retries}")
        return policy


class LatencyWindow:
    """The last ``size`` latencies in milliseconds, for percentiles over a recent window."""

    def __init__(self, size: int = LATENCY_WINDOW) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        with self._lock:
            self._values.append(ms)

    def __len__(self) -> int:
        return len(self._values)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile, ``q`` in [0, 100]; None with no samples."""
        with self._lock:
            ordered = sorted(self._values)
        if not ordered:
            return None
        rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
        return round(ordered[int(rank) - 1], 3)


class Endpoint:
    def __init__(self, url: str, weight: float, policy: PoolPolicy, clock: Callable[[], float]):
        if weight <= 0:
            raise ValueError(f"weight of {redact(url)!r} must be positive, got {weight}")
        self.url = url
        self.weight = weight
        self.breaker = CircuitBreaker(
            failure_threshold=policy.eject_after, reset_timeout_s=policy.eject_s, clock=clock
        )
        self.latency = LatencyWindow()
        self.outstanding = 0
        self.current_weight = 0.0
        self.requests = 0
        self.failures = 0
        self.last_error: str | None = None
        self.refused: str | None = None
        self.checked = False
        self.last_probe_at: float | None = None
        self.probe_lock = threading.Lock()

    def status(self) -> EndpointStatus:
        state = self.breaker.state
        return EndpointStatus(
            url=redact(self.url),
            weight=self.weight,
            state="refused"
            if self.refused
            else {BreakerState.CLOSED: "up", BreakerState.OPEN: "ejected"}.get(state, "probing"),
            outstanding=self.outstanding,
            requests=self.requests,
            failures=self.failures,
            consecutive_failures=self.breaker.consecutive_failures,
            p50_ms=self.latency.percentile(50),
            p95_ms=self.latency.percentile(95),
            samples=len(self.latency),
            last_error=self.refused or self.last_error,
            retry_in_s=round(self.breaker.retry_in_s(), 3)
            if state != BreakerState.CLOSED
            else None,
        )


class _Retry(Exception):
    def __init__(self, error: VoxcloneError) -> None:
        super().__init__(error.message)
        self.error = error


class _Stop(Exception):
    def __init__(self, error: VoxcloneError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_urls(urls: Sequence[str | Mapping[str, Any]]) -> list[tuple[str, float]]:
    """``["http://a", {"url": "http://b", "weight": 2}]`` as (normalized url, weight) pairs."""
    parsed: list[tuple[str, float]] = []
    for item in urls:
        if isinstance(item, str):
            url, weight = item, 1.0
        elif isinstance(item, Mapping) and isinstance(item.get("url"), str):
            url, weight = item["url"], float(item.get("weight", 1.0))
        else:
            raise TypeError(f"an engine URL must be a string or {{url, weight}}, got {item!r}")
        try:
            parsed.append((normalize_base_url(url), weight))
        except UrlRefused as exc:
            raise ValueError(str(exc)) from None
    seen = [u for u, _ in parsed]
    if len(set(seen)) != len(seen):
        raise ValueError(f"engine URLs are listed twice: {seen}")
    return parsed


class EndpointPool:
    def __init__(
        self,
        *,
        engine: str,
        urls: Sequence[str | Mapping[str, Any]],
        policy: PoolPolicy,
        probe: Probe,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            parsed = parse_urls(urls)
        except (TypeError, ValueError) as exc:
            raise EngineUnavailable(f"engine {engine!r}: {exc}", backend=engine) from exc
        if not parsed:
            raise EngineUnavailable(f"engine {engine!r} has no URLs", backend=engine)
        self.engine = engine
        self.policy = policy
        self._url_policy = UrlPolicy(
            allow_loopback=policy.allow_loopback_urls, allow_private=policy.allow_private_urls
        )
        self._probe_fn = probe
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoints = [Endpoint(url, weight, policy, clock) for url, weight in parsed]
        for endpoint in self._endpoints:  # IP literals now; host names when first used
            try:
                check_url(endpoint.url, self._url_policy, resolve=False)
            except UrlRefused as exc:
                endpoint.refused = str(exc)
        if all(e.refused for e in self._endpoints):
            raise EngineUnavailable(
                f"engine {engine!r} may not call any of its URLs: {self._endpoints[0].refused}",
                backend=engine,
            )
        self._client = httpx.Client(
            timeout=httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=policy.max_connections,
                max_keepalive_connections=policy.max_connections,
            ),
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    # --- requests ------------------------------------------------------------------------------

    def call(self, attempt: Attempt[T]) -> T:
        """``attempt(client, base_url)`` on a chosen URL, retried elsewhere as the policy says.

        Raises ProviderTimeout, ProviderError (ProviderRejected for a 4xx) or
        ProviderUnavailable when no URL is in rotation.
        """
        tried: set[Endpoint] = set()
        last: list[VoxcloneError] = []
        retrying = Retrying(
            stop=stop_after_attempt(1 + self.policy.retries),
            wait=wait_exponential(multiplier=self.policy.backoff_s, max=self.policy.max_backoff_s)
            + wait_random(0, self.policy.backoff_s),
            retry=retry_if_exception_type(_Retry),
            reraise=True,
        )
        try:
            result: T = retrying(self._once, attempt, tried, last)
        except (_Retry, _Stop) as exc:
            raise exc.error from exc.error.__cause__
        return result

    def _once(self, attempt: Attempt[T], tried: set[Endpoint], last: list[VoxcloneError]) -> T:
        endpoint = self._acquire(tried)
        if endpoint is None:
            raise _Stop(last[-1] if last else self._unavailable())
        tried.add(endpoint)
        started = time.perf_counter()
        try:
            if not endpoint.checked:
                check_url(endpoint.url, self._url_policy)
                endpoint.checked = True
            result = attempt(self._client, endpoint.url)
        except UrlRefused as exc:
            endpoint.refused = str(exc)
            log.error("engine %s: %s", self.engine, exc)
            raise self._retry(last, ProviderUnavailable(str(exc), backend=self.engine)) from exc
        except UrlUnresolved as exc:
            self._failed(endpoint, str(exc))
            unresolved = self._error(f"cannot reach {redact(endpoint.url)}: {exc}")
            raise self._retry(last, unresolved) from exc
        except httpx.TimeoutException as exc:
            connect = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            what = "connecting" if connect else "waiting for the reply"
            self._failed(endpoint, f"timed out {what}")
            timeout = ProviderTimeout(
                f"backend {self.engine!r} timed out {what} ({redact(endpoint.url)})",
                backend=self.engine,
                url=redact(endpoint.url),
            )
            timeout.__cause__ = exc
            if connect or self.policy.retry_timeouts:
                raise self._retry(last, timeout) from exc
            raise _Stop(timeout) from exc
        except httpx.TransportError as exc:
            problem = _describe_transport_error(exc)
            self._failed(endpoint, problem)
            dropped = self._error(f"{problem} ({redact(endpoint.url)})")
            dropped.__cause__ = exc
            raise self._retry(last, dropped) from exc
        except EndpointFault as fault:
            if fault.eject:
                self._failed(endpoint, fault.error.message)
            else:
                endpoint.breaker.record_success()  # it answered; the request was the problem
            fault.error.details.setdefault("url", redact(endpoint.url))
            if fault.retry:
                raise self._retry(last, fault.error) from fault
            raise _Stop(fault.error) from fault
        else:
            endpoint.breaker.record_success()
            endpoint.latency.add((time.perf_counter() - started) * 1000)
            return result
        finally:
            with self._lock:
                endpoint.outstanding -= 1

    def _retry(self, last: list[VoxcloneError], error: VoxcloneError) -> _Retry:
        last.append(error)
        return _Retry(error)

    def _error(self, problem: str) -> ProviderError:
        return ProviderError(f"backend {self.engine!r}: {problem}", backend=self.engine)

    def _unavailable(self) -> ProviderUnavailable:
        waits = [e.breaker.retry_in_s() for e in self._endpoints if not e.refused]
        hint = f"; the next probe is due in {min(waits):.1f} s" if waits else ""
        problems = "; ".join(
            f"{redact(e.url)}: {e.refused or e.last_error or 'ejected'}" for e in self._endpoints
        )
        return ProviderUnavailable(
            f"backend {self.engine!r} has no URL in rotation ({problems}){hint}",
            backend=self.engine,
        )

    def _failed(self, endpoint: Endpoint, problem: str) -> None:
        was_closed = endpoint.breaker.closed
        with self._lock:
            endpoint.failures += 1
            endpoint.last_error = problem
        endpoint.breaker.record_failure()
        if was_closed and not endpoint.breaker.closed:
            log.warning(
                "engine %s: %s ejected after %d failure(s): %s",
                self.engine,
                redact(endpoint.url),
                endpoint.breaker.consecutive_failures,
                problem,
            )

    def _acquire(self, tried: set[Endpoint]) -> Endpoint | None:
        """The URL for the next attempt (outstanding count taken), or None if none is usable.

        URLs whose rest is over are probed: in the background while another URL can take the
        request, here and now when none can (the request has nowhere else to go).
        """
        due = [e for e in self._endpoints if e.refused is None and e.breaker.try_begin_probe()]
        if due:
            if any(e.refused is None and e.breaker.closed for e in self._endpoints):
                for endpoint in due:
                    threading.Thread(
                        target=self._probe_due, args=(endpoint,), name="voxclone-probe", daemon=True
                    ).start()
            else:
                self._probe_all(due, self._probe_due)
        with self._lock:
            usable = [e for e in self._endpoints if e.refused is None and e.breaker.closed]
            if not usable:
                return None
            fresh = [e for e in usable if e not in tried] or usable
            low = min(e.outstanding / e.weight for e in fresh)
            least = [e for e in fresh if e.outstanding / e.weight <= low]
            total = sum(e.weight for e in least)
            for e in least:
                e.current_weight += e.weight
            chosen = max(least, key=lambda e: e.current_weight)
            chosen.current_weight -= total
            chosen.outstanding += 1
            chosen.requests += 1
            return chosen

    # --- health --------------------------------------------------------------------------------

    def _check(self, endpoint: Endpoint) -> str | None:
        """Probe one URL; None when healthy, else what is wrong."""
        try:
            check_url(endpoint.url, self._url_policy)
            endpoint.checked = True
            self._probe_fn(self._client, endpoint.url, self.policy.health_timeout_s)
        except UrlRefused as exc:
            endpoint.refused = str(exc)
            return str(exc)
        except httpx.TimeoutException:
            return "health probe timed out"
        except httpx.TransportError as exc:
            return _describe_transport_error(exc)
        except EndpointFault as fault:
            return fault.error.message
        except (UrlUnresolved, VoxcloneError, httpx.HTTPError, ValueError) as exc:
            return str(exc)
        except Exception as exc:  # a probe must never kill its thread; the URL is just "down"
            log.warning(
                "engine %s: probing %s failed", self.engine, redact(endpoint.url), exc_info=True
            )
            return f"probe failed: {type(exc).__name__}: {exc}"
        finally:
            endpoint.last_probe_at = self._clock()
        return None

    def _probe_due(self, endpoint: Endpoint) -> None:
        """Probe an ejected URL whose rest is over (the caller holds its breaker's probe)."""
        problem = self._check(endpoint)
        endpoint.breaker.end_probe(ok=problem is None)
        if problem is None:
            log.info("engine %s: %s is back in rotation", self.engine, redact(endpoint.url))
        else:
            endpoint.last_error = problem

    def health(self, *, max_age_s: float | None = None, force: bool = False) -> EngineHealth:
        """Probe the URLs not probed for ``max_age_s`` (all of them with ``force``) and report.

        An ejected URL is probed only when its rest is over, unless ``force``. A failed probe
        ejects a URL at once; a good one puts it back.
        """
        max_age = self.policy.health_interval_s if max_age_s is None else max_age_s
        resting: list[Endpoint] = []
        checks: list[Endpoint] = []
        for endpoint in self._endpoints:
            if endpoint.refused is not None:
                continue
            if endpoint.breaker.try_begin_probe():
                resting.append(endpoint)
                continue
            age = None if endpoint.last_probe_at is None else self._clock() - endpoint.last_probe_at
            due = force or age is None or age >= max_age
            if due and (force or endpoint.breaker.closed):
                checks.append(endpoint)
        self._probe_all(resting, self._probe_due)
        self._probe_all(checks, self._probe_now)
        return self.state()

    def _probe_now(self, endpoint: Endpoint) -> None:
        """Probe a URL in rotation (or any, when forced): a failure ejects it at once."""
        if not endpoint.probe_lock.acquire(blocking=False):
            return  # another thread is probing it
        try:
            problem = self._check(endpoint)
            if problem is None:
                endpoint.breaker.record_success()
            else:
                endpoint.last_error = problem
                endpoint.breaker.trip()
        finally:
            endpoint.probe_lock.release()

    @staticmethod
    def _probe_all(endpoints: list[Endpoint], probe: Callable[[Endpoint], None]) -> None:
        """Run ``probe`` on every endpoint side by side, and wait for all of them."""
        if len(endpoints) == 1:
            probe(endpoints[0])
            return
        threads = [
            threading.Thread(target=probe, args=(e,), name="voxclone-probe", daemon=True)
            for e in endpoints
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def state(self) -> EngineHealth:
        """Availability from what is known now, without probing."""
        usable = [e for e in self._endpoints if e.refused is None and e.breaker.closed]
        total = len(self._endpoints)
        if usable:
            return EngineHealth(available=True, detail=f"{len(usable)} of {total} URL(s) up")
        problems = "; ".join(
            f"{redact(e.url)}: {e.refused or e.last_error or 'ejected'}" for e in self._endpoints
        )
        return EngineHealth(available=False, detail=f"no URL is up ({problems})")

    def endpoints(self) -> list[EndpointStatus]:
        return [e.status() for e in self._endpoints]

    def close(self) -> None:
        self._client.close()


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc or 'connection refused'}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"the connection dropped: {exc or type(exc).__name__}"
    return f"transport error: {exc or type(exc).__name__}"


class PooledEngine:
    """The plumbing every remote engine shares: its pool, health, URL listing and close."""

    name: str
    version: str

    def __init__(self, name: str, pool: EndpointPool) -> None:
        self.name = name
        self._pool = pool

    @property
    def policy(self) -> PoolPolicy:
        return self._pool.policy

    def health(self, *, force: bool = False) -> EngineHealth:
        return self._pool.health(force=force)

    def endpoints(self) -> list[EndpointStatus]:
        return self._pool.endpoints()

    def close(self) -> None:
        self._pool.close()

    def post(self, path: str, parse: Callable[[Reply], T], **request: Any) -> T:
        """POST to ``path`` on a URL of the pool, check the status and ``parse`` the reply.

        All three are one attempt: a reply that cannot be parsed (garbage audio, bad JSON)
        fails the attempt like an error status, so the pool retries, ejects and falls back.
        ``request`` goes to ``fetch`` (json, files, data, headers).
        """
        limit = self.policy.max_response_bytes

        def attempt(client: httpx.Client, base_url: str) -> T:
            reply = fetch(
                client, "POST", f"{base_url}{path}", engine=self.name, max_bytes=limit, **request
            )
            check_status(reply, engine=self.name, url=base_url)
            return parse(reply)

        return self._pool.call(attempt)

    def _audio_file(self, reply: Reply) -> Audio:
        """A reply whose body is an audio file (WAV, FLAC, OGG, MP3)."""
        return audio_from_file(reply.content, engine=self.name)

    def _transcript(self, reply: Reply) -> Transcript:
        """A reply in the provider spec's / OpenAI's verbose_json transcript shape."""
        return transcript_from_json(reply.json(engine=self.name), engine=self.name)


def build_pool(
    engine: str,
    urls: Sequence[str | Mapping[str, Any]],
    *,
    policy: Mapping[str, Any] | None,
    probe: Probe,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> EndpointPool:
    """An EndpointPool, with bad options reported as the engine being unavailable."""
    try:
        parsed = PoolPolicy.from_options(policy)
    except (TypeError, ValueError) as exc:
        raise EngineUnavailable(f"engine {engine!r}: {exc}", backend=engine) from exc
    return EndpointPool(
        engine=engine, urls=urls, policy=parsed, probe=probe, headers=headers, transport=transport
    )


def probe_status_json(path: str, *, method: str = "GET") -> Probe:
    """A probe that wants a 2xx from ``path`` whose JSON ``status``, if any, is not a failure."""

    def probe(client: httpx.Client, base_url: str, timeout_s: float) -> None:
        response = client.request(method, f"{base_url}{path}", timeout=timeout_s)
        if not 200 <= response.status_code < 300:
            raise ValueError(f"GET {path} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            return
        status = body.get("status") if isinstance(body, dict) else None
        if isinstance(status, str) and status.lower() in ("unhealthy", "down", "error"):
            raise ValueError(f"{path} says {status!r}")

    return probe
