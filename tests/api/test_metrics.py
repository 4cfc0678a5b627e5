"""GET /metrics: Prometheus text that parses, counts that match the requests made (route
templates, never raw paths), synthesis and cache counters, jobs, the token, and one registry
per app (on both databases)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fake_registry, make_settings, wait_for_job
from voxclone import __version__
from voxclone.api.app import create_app
from voxclone.api.metrics import UNMATCHED, route_label
from voxclone.config import Settings
from voxclone.core.types import new_id
from voxclone.services.container import build_services

Samples = dict[tuple[tuple[str, str], ...], float]
FAKE = (("backend", "fake"),)


def samples(text: str, name: str) -> Samples:
    """The samples called ``name`` in exposition ``text``, by their sorted labels."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def requests_by_route(text: str) -> dict[tuple[str, str, str], float]:
    return {
        (dict(labels)["method"], dict(labels)["route"], dict(labels)["status"]): value
        for labels, value in samples(text, "voxclone_http_requests_total").items()
    }


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """The shared fixture's settings, with overrides from an indirect parametrization."""
    overrides: dict[str, object] = getattr(request, "param", {})
    return make_settings(tmp_path / "data", database_url=database_url, **overrides)


async def test_metrics_are_prometheus_text(client) -> None:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert samples(r.text, "voxclone_build_info") == {(("version", __version__),): 1.0}
    assert families["voxclone_http_requests"].type == "counter"
    assert families["voxclone_http_request_duration_seconds"].type == "histogram"
    assert families["voxclone_synthesis_duration_seconds"].type == "histogram"
    assert "process_cpu_seconds" in families
    assert set(samples(r.text, "voxclone_engine_loaded")) == {
        (("engine", "fake"), ("kind", "tts")),
        (("engine", "piper"), ("kind", "tts")),
    }


async def test_requests_synthesis_and_cache_are_counted(client, user, voice_id) -> None:
    # The fixtures created a key (POST /v1/keys) and a voice (POST /v1/voices) on this app.
    text = "Hello there. How are you?"
    durations = []
    for expected_cache in ("MISS", "HIT"):
        r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": text}, headers=user)
        assert r.status_code == 200, r.text
        assert r.headers["X-Cache"] == expected_cache
        durations.append(float(r.headers["X-Audio-Duration"]))
    missing = await client.get(f"/v1/voices/{new_id()}", headers=user)
    assert missing.status_code == 404

    text_out = await scrape(client)
    assert requests_by_route(text_out) == {
        ("POST", "/v1/keys", "201"): 1,
        ("POST", "/v1/voices", "201"): 1,
        ("POST", "/v1/text-to-speech/{voice_id}", "200"): 2,
        ("GET", "/v1/voices/{voice_id}", "404"): 1,
    }
    assert voice_id not in text_out
    timed = samples(text_out, "voxclone_http_request_duration_seconds_count")
    assert timed[(("method", "POST"), ("route", "/v1/text-to-speech/{voice_id}"))] == 2

    # Only the miss was synthesized; the hit was read from the cache.
    audio = samples(text_out, "voxclone_synthesis_audio_seconds_total")
    assert audio[FAKE] == pytest.approx(durations[0], abs=0.002)
    assert samples(text_out, "voxclone_synthesis_characters_total") == {FAKE: len(text)}
    assert samples(text_out, "voxclone_synthesis_duration_seconds_count") == {FAKE: 1}
    assert samples(text_out, "voxclone_synthesis_cache_lookups_total") == {
        (("result", "miss"),): 1,
        (("result", "hit"),): 1,
    }
    assert samples(text_out, "voxclone_engine_loaded")[(("engine", "fake"), ("kind", "tts"))] == 1


async def test_scrapes_are_not_counted(client) -> None:
    await scrape(client)
    assert requests_by_route(await scrape(client)) == {}


async def test_a_job_is_counted_once_with_its_queue_wait(client, user, voice_id) -> None:
    body = {"voice_id": voice_id, "text": "Queued for later."}
    r = await client.post("/v1/synthesize", json=body, headers=user)
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_id"], user)
    assert job["status"] == "ready"

    text_out = await scrape(client)
    assert samples(text_out, "voxclone_jobs_finished_total") == {
        (("kind", "synthesize"), ("status", "ready")): 1
    }
    assert samples(text_out, "voxclone_job_queue_wait_seconds_count") == {
        (("kind", "synthesize"),): 1
    }
    # The job's own look into the cache before rendering is not a client's lookup.
    assert samples(text_out, "voxclone_synthesis_cache_lookups_total") == {(("result", "miss"),): 1}
    assert samples(text_out, "voxclone_synthesis_duration_seconds_count") == {FAKE: 1}


@pytest.mark.parametrize(
    "settings", [{"cache_enabled": True}, {"cache_enabled": False}], indirect=True
)
async def test_a_finished_stream_is_counted(client, user, voice_id, settings) -> None:
    text = "A first sentence. And a second."
    r = await client.post(
        f"/v1/text-to-speech/{voice_id}/stream", json={"text": text, "format": "pcm"}, headers=user
    )
    assert r.status_code == 200, r.text
    assert r.content
    text_out = await scrape(client)
    assert samples(text_out, "voxclone_synthesis_audio_seconds_total")[FAKE] > 0
    assert samples(text_out, "voxclone_synthesis_characters_total") == {FAKE: len(text)}
    lookups = samples(text_out, "voxclone_synthesis_cache_lookups_total")
    assert lookups == ({(("result", "miss"),): 1} if settings.cache_enabled else {})


async def test_unknown_paths_share_one_label(client) -> None:
    paths = [f"/v1/nothing-{new_id()}" for _ in range(3)]
    for path in paths:
        assert (await client.get(path)).status_code == 404
    text_out = await scrape(client)
    assert requests_by_route(text_out) == {("GET", UNMATCHED, "404"): 3}
    assert not any(path in text_out for path in paths)


def test_route_label_of_an_unmatched_scope() -> None:
    assert route_label({"type": "http", "path": "/v1/x/123"}) == UNMATCHED

    class Route:
        path_format = "/v1/voices/{voice_id}"

    assert route_label({"type": "http", "route": Route()}) == "/v1/voices/{voice_id}"


@pytest.mark.parametrize("settings", [{"metrics": {"token": "scrape-secret"}}], indirect=True)
async def test_the_token_guards_metrics(client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic scrape-secret"},
        {"X-API-Key": "scrape-secret"},
    ):
        r = await client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert ok.status_code == 200
    assert "voxclone_build_info" in ok.text


@pytest.mark.parametrize("settings", [{"metrics": {"enabled": False}}], indirect=True)
async def test_disabled_metrics_are_not_found(client, services) -> None:
    r = await client.get("/metrics")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert (await client.get("/health")).status_code == 200
    assert requests_by_route(generate_latest(services.metrics.registry).decode()) == {}


async def test_two_apps_count_apart(client, settings) -> None:
    other_settings = settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"})
    other = create_app(services=build_services(other_settings, engines=fake_registry()))
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://o") as second,
    ):
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
        assert (await second.get("/v1/health")).status_code == 200
        assert requests_by_route(await scrape(client)) == {("GET", "/health", "200"): 3}
        assert requests_by_route(await scrape(second)) == {("GET", "/v1/health", "200"): 1}
