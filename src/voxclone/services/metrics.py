"""Prometheus metrics of one ``Services``: what was requested, synthesized, cached and run.

Every ``Metrics`` owns its own ``CollectorRegistry`` (never prometheus_client's global one),
so each app, CLI run or test has its own counts and a second one in the same process does not
clash with the first. The services call the few ``note_*`` methods below; the API exposes
``registry`` at ``GET /metrics``. Gauges about engines are computed when scraped, from the
engine registry, rather than kept up to date.

In the distributed mode each process counts what it does itself: an API host its requests,
cache lookups and synchronous syntheses; a Celery worker's pool process the jobs it runs (those
counts are not exported, see README "Scaling out").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from voxclone import __version__
from voxclone.engines.base import RemoteEngine
from voxclone.engines.registry import EngineRegistry
from voxclone.services.latency import LatencyRecorder

SYNTHESIS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
QUEUE_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class Metrics:
    """The counters and histograms, registered on ``registry``, with one method per event."""

    def __init__(
        self, *, engines: EngineRegistry | None = None, version: str = __version__
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = LatencyRecorder()
        """Each engine's recent call times, for the percentiles of GET /v1/engines."""
        reg = self.registry
        self._http_requests = Counter(
            "voxclone_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=reg,
        )
        self._http_duration = Histogram(
            "voxclone_http_request_duration_seconds",
            "Time from a request's arrival to the last byte of its response.",
            ["method", "route"],
            registry=reg,
        )
        self._audio = Counter(
            "voxclone_synthesis_audio_seconds",
            "Seconds of audio synthesized (cache hits not included), by backend.",
            ["backend"],
            registry=reg,
        )
        self._characters = Counter(
            "voxclone_synthesis_characters",
            "Characters of text synthesized (cache hits not included), by backend.",
            ["backend"],
            registry=reg,
        )
        self._synthesis_time = Histogram(
            "voxclone_synthesis_duration_seconds",
            "Wall time of one synthesis, voice prompt and encoding included, by backend.",
            ["backend"],
            registry=reg,
            buckets=SYNTHESIS_BUCKETS,
        )
        self._cache = Counter(
            "voxclone_synthesis_cache_lookups",
            "Synthesis cache lookups for a client's request, by result (hit or miss).",
            ["result"],
            registry=reg,
        )
        self._jobs = Counter(
            "voxclone_jobs_finished",
            "Jobs this process ran to an end, by kind and final status.",
            ["kind", "status"],
            registry=reg,
        )
        self._queue_wait = Histogram(
            "voxclone_job_queue_wait_seconds",
            "Time from a job's creation to its first start, by kind.",
            ["kind"],
            registry=reg,
            buckets=QUEUE_WAIT_BUCKETS,
        )
        Info("voxclone_build", "The running voxclone.", registry=reg).info({"version": version})
        ProcessCollector(registry=reg)
        if engines is not None:
            reg.register(EngineCollector(engines))

    def note_request(self, *, method: str, route: str, status: int, duration_s: float) -> None:
        self._http_requests.labels(method, route, str(status)).inc()
        self._http_duration.labels(method, route).observe(duration_s)

    def note_synthesis(
        self, *, backend: str, audio_s: float, wall_s: float, characters: int
    ) -> None:
        self._audio.labels(backend).inc(max(0.0, audio_s))
        self._characters.labels(backend).inc(characters)
        self._synthesis_time.labels(backend).observe(wall_s)
        self.latency.record(backend, wall_s)

    def note_engine_call(self, *, engine: str, wall_s: float) -> None:
        """A speech engine's call other than a synthesis (a transcription, a denoise)."""
        self.latency.record(engine, wall_s)

    def note_cache_lookup(self, *, hit: bool) -> None:
        self._cache.labels("hit" if hit else "miss").inc()

    def note_job_started(
        self, *, kind: str, created_at: datetime, started_at: datetime | None
    ) -> None:
        if started_at is not None:
            wait = _aware(started_at) - _aware(created_at)
            self._queue_wait.labels(kind).observe(max(0.0, wait.total_seconds()))

    def note_job_finished(self, *, kind: str, status: str) -> None:
        self._jobs.labels(kind, status).inc()


class EngineCollector(Collector):
    """Engine gauges, read from the registry when scraped; never loads or probes anything."""

    def __init__(self, engines: EngineRegistry) -> None:
        self._engines = engines

    def collect(self) -> Iterator[Metric]:
        loaded = GaugeMetricFamily(
            "voxclone_engine_loaded",
            "1 for an engine loaded in this process, 0 for one not loaded (yet, or it failed).",
            labels=["engine", "kind"],
        )
        up = GaugeMetricFamily(
            "voxclone_engine_endpoint_up",
            "Remote engines (once loaded): 1 for a URL in rotation, 0 for one ejected, "
            "waiting for a probe, or refused by settings.",
            labels=["engine", "url"],
        )
        for name in self._engines.names():
            engine = self._engines.loaded(name)
            loaded.add_metric([name, self._engines.spec(name).kind], float(engine is not None))
            if isinstance(engine, RemoteEngine):
                for endpoint in engine.endpoints():
                    up.add_metric([name, endpoint.url], float(endpoint.state == "up"))
        yield loaded
        yield up


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time voxclone stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
