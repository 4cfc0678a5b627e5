"""The metrics helper alone: engine gauges read at scrape time, and the queue wait of rows
whose times come back naive (SQLite) or aware (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from voxclone.engines.base import EndpointStatus, EngineHealth
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.metrics import Metrics


class StubRemote:
    """Just what a remote engine shows the collector: two URLs, one of them ejected."""

    def __init__(self, *, name: str) -> None:
        self.name = name

    def health(self, *, force: bool = False) -> EngineHealth:
        return EngineHealth(available=True)

    def endpoints(self) -> list[EndpointStatus]:
        return [_endpoint("http://gpu-1:8000", "up"), _endpoint("http://gpu-2:8000", "ejected")]


def _endpoint(url: str, state: str) -> EndpointStatus:
    return EndpointStatus(
        url=url,
        weight=1.0,
        state=state,
        outstanding=0,
        requests=0,
        failures=0,
        consecutive_failures=0,
        p50_ms=None,
        p95_ms=None,
        samples=0,
        last_error=None,
        retry_in_s=None,
    )


def _values(metrics: Metrics, name: str) -> dict[tuple[str, ...], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        tuple(s.labels.values()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_engine_gauges_are_read_when_scraped_and_load_nothing() -> None:
    target = f"{__name__}:StubRemote"
    engines = EngineRegistry(
        [EngineSpec("gpu", target, remote=True), EngineSpec("stt", target, kind="stt")]
    )
    metrics = Metrics(engines=engines)
    assert _values(metrics, "voxclone_engine_loaded") == {("gpu", "tts"): 0, ("stt", "stt"): 0}
    assert _values(metrics, "voxclone_engine_endpoint_up") == {}
    assert not engines.is_loaded("gpu")

    engines.get("gpu")
    assert _values(metrics, "voxclone_engine_loaded")[("gpu", "tts")] == 1
    assert _values(metrics, "voxclone_engine_endpoint_up") == {
        ("gpu", "http://gpu-1:8000"): 1,
        ("gpu", "http://gpu-2:8000"): 0,
    }


def test_queue_wait_from_naive_and_aware_times() -> None:
    metrics = Metrics()
    created = datetime(2025, 1, 1, 12, 0, 0)
    metrics.note_job_started(
        kind="synthesize", created_at=created, started_at=created + timedelta(seconds=2)
    )
    aware = created.replace(tzinfo=UTC)
    metrics.note_job_started(
        kind="synthesize", created_at=aware, started_at=aware + timedelta(seconds=3)
    )
    metrics.note_job_started(kind="synthesize", created_at=aware, started_at=None)
    assert _values(metrics, "voxclone_job_queue_wait_seconds_count") == {("synthesize",): 2}
    assert _values(metrics, "voxclone_job_queue_wait_seconds_sum") == {("synthesize",): 5.0}


def test_two_metrics_in_one_process_do_not_clash() -> None:
    first, second = Metrics(), Metrics()
    first.note_cache_lookup(hit=True)
    assert _values(first, "voxclone_synthesis_cache_lookups_total") == {("hit",): 1}
    assert _values(second, "voxclone_synthesis_cache_lookups_total") == {}
