"""Three real ``voxclone provider serve`` processes behind one engine: one is killed mid-test,
then all of them; requests keep being answered (by the survivors, then by the fallback), the
dead URLs are ejected, /health and /v1/engines say so, and a provider that comes back on its
address is probed and put back in rotation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.remote.conftest import engine_entry
from tests.remote.servers import ProviderProcess

PROVIDER_ENGINES = """
[[engines]]
name = "fake"
type = "python"
target = "voxclone.engines.fake:FakeEngine"
"""
OPTIONS = {"model": "fake-1", "languages": ["en"], "sample_rate": 16000}


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[ProviderProcess]]:
    engines = tmp_path / "provider-engines.toml"
    engines.write_text(PROVIDER_ENGINES, encoding="utf-8")
    started = [ProviderProcess("fake", engines, cwd=tmp_path).start() for _ in range(3)]
    try:
        for p in started:
            p.wait_ready()
        yield started
    finally:
        for p in started:
            p.stop()


async def test_kill_one_then_all_then_bring_one_back(gateway, processes, tmp_path) -> None:
    a, b, c = processes
    gw = await gateway(
        engine_entry(
            "gpu",
            "provider",
            urls=[a.url, b.url, c.url],
            eject_after=1,
            eject_s=0.5,
            fallback="fake",
            options=OPTIONS,
        )
        + engine_entry("solo", "provider", urls=[b.url], options=OPTIONS),
        default_backend="gpu",
    )
    voice = await gw.voice("gpu")
    for i in range(6):
        r = await gw.say(voice, f"All three are up, line {i}.")
        assert r.status_code == 200 and r.headers["X-Backend"] == "gpu", r.text
    assert (await gw.client.get("/health")).json()["status"] == "healthy"

    b.kill()  # mid-test, with no goodbye
    for i in range(6):
        r = await gw.say(voice, f"One is gone, line {i}.")
        assert r.status_code == 200 and r.headers["X-Backend"] == "gpu", r.text
    urls = {u["url"]: u for u in (await gw.engines())["gpu"]["urls"]}
    assert urls[b.url]["state"] in ("ejected", "probing")
    assert "cannot connect" in urls[b.url]["last_error"]
    assert urls[a.url]["state"] == urls[c.url]["state"] == "up"
    assert urls[a.url]["latency_p50_ms"] is not None and urls[a.url]["latency_p95_ms"] is not None
    r = await gw.say(voice, "Only b could say this.", model_id="solo")
    assert r.status_code == 502, r.text  # no fallback for this one
    assert r.json()["error"] in ("provider_error", "provider_unavailable")

    a.kill()
    c.kill()
    for i in range(3):
        r = await gw.say(voice, f"Everyone is gone, line {i}.")
        assert r.status_code == 200, r.text
        assert r.headers["X-Backend"] == "fake"
    health = (await gw.client.get("/health")).json()
    assert health["status"] == "degraded"
    gpu = next(e for e in health["engines"] if e["name"] == "gpu")
    assert gpu["available"] is False and "no URL is up" in gpu["detail"]
    listed = await gw.engines(probe=True)
    assert listed["gpu"]["available"] is False
    assert {u["state"] for u in listed["gpu"]["urls"]} <= {"ejected", "probing"}

    # b comes back on its address; once its rest is over, a probe puts it back in rotation.
    b.start().wait_ready()
    await asyncio.sleep(0.6)
    r = await gw.say(voice, "Welcome back.")
    assert r.status_code == 200 and r.headers["X-Backend"] == "gpu", r.text
    urls = {u["url"]: u for u in (await gw.engines())["gpu"]["urls"]}
    assert urls[b.url]["state"] == "up"


async def test_unhealthy_when_nothing_can_synthesize(gateway, provider) -> None:
    providers = [provider(), provider()]
    gw = await gateway(
        engine_entry("gpu", "provider", urls=[p.url for p in providers], options=OPTIONS),
        default_backend="gpu",
    )
    assert (await gw.client.get("/health")).json()["status"] == "healthy"
    for p in providers:
        p.stop()
    r = await gw.client.get("/v1/engines", params={"probe": "true"}, headers=gw.admin)
    assert r.json()["status"] == "unhealthy"
    assert (await gw.client.get("/health")).json()["status"] == "unhealthy"
