"""GET /v1/engines: each engine's latency percentiles over this process's recent calls."""

from __future__ import annotations

import httpx
import pytest

from voxclone.services.latency import LatencyRecorder


async def test_engines_show_latency_percentiles_after_syntheses(
    client: httpx.AsyncClient, user: dict[str, str], admin_headers: dict[str, str], voice_id: str
) -> None:
    before = (await client.get("/v1/engines", headers=admin_headers)).json()
    fake = next(e for e in before["engines"] if e["name"] == "fake")
    assert fake["latency_samples"] == 0 and fake["latency_p50_ms"] is None
    for text in ("One sentence here.", "Another, longer sentence to say.", "A third one."):
        r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": text}, headers=user)
        assert r.status_code == 200, r.text
    assert (await client.get("/v1/engines", headers=user)).status_code == 403
    r = await client.get("/v1/engines", headers=admin_headers)
    assert r.status_code == 200
    fake = next(e for e in r.json()["engines"] if e["name"] == "fake")
    assert fake["latency_samples"] == 3
    assert 0 < fake["latency_p50_ms"] <= fake["latency_p95_ms"] <= fake["latency_p99_ms"]
    piper = next(e for e in r.json()["engines"] if e["name"] == "piper")
    assert piper["latency_samples"] == 0 and piper["latency_p99_ms"] is None


def test_percentiles_interpolate_over_a_rolling_window() -> None:
    recorder = LatencyRecorder(window=100)
    assert recorder.stats("x") is None
    for ms in range(1, 201):  # only the last 100 (101..200 ms) stay
        recorder.record("x", ms / 1000)
    stats = recorder.stats("x")
    assert stats is not None
    assert stats.samples == 100
    assert stats.p50_ms == pytest.approx(150.5)
    assert stats.p95_ms == pytest.approx(195.05, abs=0.1)
    assert stats.p99_ms == pytest.approx(199.01, abs=0.1)
