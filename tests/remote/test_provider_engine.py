"""The ``provider`` engine against voxclone's own provider servers on loopback: balancing,
voice prompts stored per engine, retries, ejection, fallback and what the client is told."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.remote.conftest import engine_entry
from voxclone.db import voices as voice_queries

FAKE_OPTIONS = {"model": "fake-1", "languages": ["en"], "sample_rate": 16000}


def requests_served(url: str) -> dict[str, int]:
    """What a provider server says it was asked, by route."""
    counts: dict[str, int] = httpx.get(f"{url}/health").json()["requests"]
    return counts


def pitch(data: bytes) -> float:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    crossings = np.count_nonzero(np.signbit(samples[1:]) != np.signbit(samples[:-1]))
    return float(crossings / (2 * len(samples) / rate))


async def test_synthesis_through_a_provider_speaks_in_the_voice(gateway, provider) -> None:
    p = provider()
    gw = await gateway(engine_entry("gpu", "provider", urls=[p.url], options=FAKE_OPTIONS))
    voice = await gw.voice("gpu")
    r = await gw.say(voice, "Hello from the other box.")
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "gpu"
    assert r.headers["X-Cache"] == "MISS"
    # The provider measured the reference (harmonics of 180 Hz) into the prompt it returned;
    # the audio comes back at that pitch, not the fake engine's default of 220 Hz.
    async with gw.services.sessions() as session:
        stored = await voice_queries.get_prompt(session, voice_id=voice, engine="gpu")
    assert stored is not None
    assert pitch(r.content) == pytest.approx(stored.prompt["pitch_hz"], rel=0.05)
    assert stored.prompt["pitch_hz"] != pytest.approx(220, rel=0.05)


async def test_the_voice_prompt_is_uploaded_once_then_sent(gateway, provider) -> None:
    a, b = provider(), provider()
    gw = await gateway(engine_entry("gpu", "provider", urls=[a.url, b.url], options=FAKE_OPTIONS))
    voice = await gw.voice("gpu")
    for i in range(4):
        r = await gw.say(voice, f"Sentence number {i}.")
        assert r.status_code == 200, r.text
    async with gw.services.sessions() as session:
        stored = await voice_queries.get_prompt(session, voice_id=voice, engine="gpu")
    assert stored is not None and stored.engine_version == "provider:fake-1"
    assert stored.prompt["engine"] == "fake" and stored.prompt["transcript"] == "hello there"
    counts = [requests_served(p.url) for p in (a, b)]
    assert sum(c.get("create_voice_prompt", 0) for c in counts) == 1
    assert sum(c.get("generate", 0) for c in counts) == 4


async def test_requests_are_balanced_round_robin_when_idle(gateway, provider) -> None:
    ps = [provider(), provider(), provider()]
    gw = await gateway(
        engine_entry("gpu", "provider", urls=[p.url for p in ps], options=FAKE_OPTIONS)
    )
    voice = await gw.voice("gpu")
    for i in range(9):
        assert (await gw.say(voice, f"Line {i}.")).status_code == 200
    assert [p.engine.synthesis_calls for p in ps] == [3, 3, 3]


async def test_weights_share_the_load(gateway, provider) -> None:
    light, heavy = provider(), provider()
    urls = [{"url": light.url, "weight": 1}, {"url": heavy.url, "weight": 2}]
    gw = await gateway(engine_entry("gpu", "provider", urls=urls, options=FAKE_OPTIONS))
    voice = await gw.voice("gpu")
    for i in range(9):
        assert (await gw.say(voice, f"Line {i}.")).status_code == 200
    assert (light.engine.synthesis_calls, heavy.engine.synthesis_calls) == (3, 6)


async def test_slow_provider_is_504_or_falls_back(gateway, provider) -> None:
    slow = provider(delay_s=1.0)
    gw = await gateway(
        engine_entry("slow", "provider", urls=[slow.url], timeout_s=0.3, options=FAKE_OPTIONS)
        + engine_entry(
            "slowfb",
            "provider",
            urls=[slow.url],
            timeout_s=0.3,
            fallback="fake",
            options=FAKE_OPTIONS,
        )
    )
    voice = await gw.voice("slow")
    r = await gw.say(voice, "Take your time.")
    assert r.status_code == 504, r.text
    assert r.json()["error"] == "provider_timeout"
    assert slow.engine.synthesis_calls == 1  # a timeout is not retried: it may still be running
    r = await gw.say(voice, "Take your time.", model_id="slowfb")
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "fake"


async def test_provider_500_is_retried_elsewhere_then_502(gateway, provider) -> None:
    a, b = provider(fail_marker="Oops"), provider(fail_marker="Oops")
    gw = await gateway(
        engine_entry("gpu", "provider", urls=[a.url, b.url], options=FAKE_OPTIONS)
        + engine_entry(
            "gpufb", "provider", urls=[a.url, b.url], fallback="fake", options=FAKE_OPTIONS
        )
    )
    voice = await gw.voice("gpu")
    r = await gw.say(voice, "Oops, this one breaks.")
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["error"] == "provider_error"
    assert body["details"]["provider_status"] == 500
    assert "failed on purpose" in body["message"]
    assert a.engine.synthesis_calls >= 1 and b.engine.synthesis_calls >= 1  # both were tried
    r = await gw.say(voice, "Oops, this one breaks.", model_id="gpufb")
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "fake"


async def test_a_provider_refusal_is_502_without_retry_or_fallback(gateway, provider) -> None:
    a, b = provider(), provider()
    options = {**FAKE_OPTIONS, "languages": ["en", "de"]}  # the gateway believes it speaks de
    gw = await gateway(
        engine_entry("gpu", "provider", urls=[a.url, b.url], fallback="fake", options=options)
    )
    voice = await gw.voice("gpu")
    r = await gw.say(voice, "Guten Tag.", language_code="de")
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_rejected"
    assert r.json()["details"]["provider_status"] == 422
    served = [requests_served(p.url).get("generate", 0) for p in (a, b)]
    assert sorted(served) == [0, 1]
    engines = await gw.engines()
    assert all(u["state"] == "up" for u in engines["gpu"]["urls"])


@pytest.mark.parametrize("mode", ["bad_base64", "nan", "odd_bytes", "not_json", "bad_rate"])
async def test_garbage_audio_is_502_or_falls_back(gateway, serve, mode) -> None:
    from tests.remote.standins import chaos_provider_app

    url = serve(chaos_provider_app(mode))
    gw = await gateway(
        engine_entry("bad", "provider", urls=[url], options=FAKE_OPTIONS)
        + engine_entry("badfb", "provider", urls=[url], fallback="fake", options=FAKE_OPTIONS)
    )
    voice = await gw.voice("bad")
    r = await gw.say(voice, "Say something sensible.")
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_error"
    assert "unusable reply" in r.json()["message"]
    r = await gw.say(voice, "Say something sensible.", model_id="badfb")
    assert r.status_code == 200 and r.headers["X-Backend"] == "fake"


async def test_a_dropped_connection_is_retried_on_another_url(gateway, provider) -> None:
    from tests.remote.servers import Dropper

    good = provider()
    with Dropper() as dropper:
        gw = await gateway(
            engine_entry(
                "gpu", "provider", urls=[dropper.url, good.url], eject_after=1, options=FAKE_OPTIONS
            )
            + engine_entry("dropped", "provider", urls=[dropper.url], options=FAKE_OPTIONS)
        )
        voice = await gw.voice("gpu")  # may land on either URL: retried on the good one
        for i in range(4):
            r = await gw.say(voice, f"Still here {i}.")
            assert r.status_code == 200, r.text
            assert r.headers["X-Backend"] == "gpu"
        assert dropper.hits >= 1
        urls = {u["url"]: u for u in (await gw.engines())["gpu"]["urls"]}
        assert urls[dropper.url]["state"] == "ejected"
        assert "dropped" in urls[dropper.url]["last_error"]
        assert urls[good.url]["state"] == "up"
        assert urls[good.url]["latency_p50_ms"] is not None

        r = await gw.say(voice, "Nobody answers.", model_id="dropped")
        assert r.status_code == 502, r.text
        assert "connection dropped" in r.json()["message"]  # (its health probe found out)


async def test_jobs_run_on_remote_engines_and_fall_back(gateway, provider) -> None:
    from tests.conftest import wait_for_job

    p = provider()
    gw = await gateway(
        engine_entry("gpu", "provider", urls=[p.url], options=FAKE_OPTIONS)
        + engine_entry(
            "dead", "provider", urls=["http://127.0.0.1:9"], fallback="fake", options=FAKE_OPTIONS
        )
    )
    voice = await gw.voice("gpu")
    for backend, served in (("gpu", "gpu"), ("dead", "fake")):
        r = await gw.client.post(
            "/v1/synthesize",
            json={"voice_id": voice, "text": f"Queued for {backend}.", "backend": backend},
            headers=gw.user,
        )
        assert r.status_code == 202, r.text
        job = await wait_for_job(gw.client, r.json()["job_id"], gw.user)
        assert job["status"] == "ready", job
        audio = await gw.client.get(f"/v1/jobs/{job['job_id']}/audio", headers=gw.user)
        assert audio.status_code == 200 and len(audio.content) > 44
        # The cache keeps what served under the engine that served it.
        again = await gw.client.post(
            "/v1/synthesize",
            json={"voice_id": voice, "text": f"Queued for {backend}.", "backend": served},
            headers=gw.user,
        )
        assert again.status_code == 200 and again.headers["X-Backend"] == served


async def test_the_cache_can_be_bypassed(gateway, provider) -> None:
    p = provider()
    entry = engine_entry("gpu", "provider", urls=[p.url], options=FAKE_OPTIONS)
    cached = await gateway(entry)
    voice = await cached.voice("gpu")
    assert (await cached.say(voice, "Same words.")).headers["X-Cache"] == "MISS"
    assert (await cached.say(voice, "Same words.")).headers["X-Cache"] == "HIT"
    assert p.engine.synthesis_calls == 1

    uncached = await gateway(entry, cache_enabled=False)
    voice = await uncached.voice("gpu")
    for _ in range(2):
        r = await uncached.say(voice, "Same words.")
        assert r.status_code == 200 and r.headers["X-Cache"] == "MISS"
    assert p.engine.synthesis_calls == 3


async def test_gpt_sovits_proxy_endpoint_maps_provider_failures(gateway, provider) -> None:
    """The proxy document's one-shot endpoint: provider timeout 504, provider error 502."""
    from tests.conftest import tone_wav

    slow, failing = provider(delay_s=1.0), provider(fail_marker="Oops")
    engines = engine_entry(
        "slow", "provider", urls=[slow.url], timeout_s=0.3, options=FAKE_OPTIONS
    ) + engine_entry("failing", "provider", urls=[failing.url], options=FAKE_OPTIONS)
    for backend, text, status in (("slow", "Hello.", 504), ("failing", "Oops.", 502)):
        gw = await gateway(engines, default_backend=backend)
        key = {"X-API-Key": gw.user["Authorization"].removeprefix("Bearer ")}
        r = await gw.client.post(
            "/api/v1/voice/synthesize",
            data={"text": text, "language": "en"},
            files={"reference_audio": ("ref.wav", tone_wav(), "audio/wav")},
            headers=key,
        )
        assert r.status_code == status, r.text


async def test_engines_listing_is_for_the_admin(gateway, provider) -> None:
    p = provider()
    gw = await gateway(engine_entry("gpu", "provider", urls=[p.url], options=FAKE_OPTIONS))
    assert (await gw.client.get("/v1/engines")).status_code == 401
    assert (await gw.client.get("/v1/engines", headers=gw.user)).status_code == 403
    r = await gw.client.get("/v1/engines", headers=gw.admin)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy" and body["default_backend"] == "fake"
    gpu = next(e for e in body["engines"] if e["name"] == "gpu")
    assert gpu["remote"] and gpu["available"] and gpu["version"] == "provider:fake-1"
    assert [u["url"] for u in gpu["urls"]] == [p.url]
    piper = next(e for e in body["engines"] if e["name"] == "piper")
    assert not piper["loaded"] and piper["detail"] == "not loaded yet" and piper["urls"] == []
