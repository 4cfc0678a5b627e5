"""The synthesis pipeline's admit and record steps, through every way into synthesis.

A key over its quota is refused with 402 on all six ways in (sync, stream, job, TTS WebSocket,
OpenAI speech, one-shot); past its rate, 429 with Retry-After and X-RateLimit-* headers, which
every response to a rate-limited key carries; past its concurrent jobs, 429. Every synthesis
served is recorded once, with its way in, characters (none for a cache hit) and audio seconds.
Real services on both databases, fake engines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav, wait_for_job
from voxclone.api.app import create_app
from voxclone.db.tables import UsageEvent
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

TEXT = "Hello there."


async def usage_rows(services: Services, key_id: str) -> list[UsageEvent]:
    await services.usage.flush()
    async with services.sessions() as session:
        query = select(UsageEvent).where(UsageEvent.key_id == key_id)
        return list((await session.execute(query.order_by(UsageEvent.created_at))).scalars())


async def make_key(client: httpx.AsyncClient, **limits: Any) -> tuple[dict[str, str], str]:
    r = await client.post(
        "/v1/keys", json={"label": "t", **limits}, headers={"X-API-Key": ADMIN_KEY}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}, r.json()["key_id"]


async def add_voice(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def set_limits(client: httpx.AsyncClient, key_id: str, **limits: Any) -> None:
    r = await client.patch(f"/v1/keys/{key_id}", json=limits, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200, r.text


def http_ways_in(voice_id: str, text: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Five of the six ways in, as (path, request keyword arguments); the WebSocket is apart."""
    return {
        "sync": (f"/v1/text-to-speech/{voice_id}", {"json": {"text": text}}),
        "stream": (f"/v1/text-to-speech/{voice_id}/stream", {"json": {"text": text}}),
        "synthesize": ("/v1/synthesize", {"json": {"voice_id": voice_id, "text": text}}),
        "openai": (
            "/v1/audio/speech",
            {"json": {"model": "tts-1", "voice": voice_id, "input": text}},
        ),
        "oneshot": (
            "/api/v1/voice/synthesize",
            {
                "data": {"text": text},
                "files": {"reference_audio": ("ref.wav", tone_wav(), "audio/wav")},
            },
        ),
    }


@pytest.mark.parametrize("way", ["sync", "stream", "synthesize", "openai", "oneshot"])
async def test_a_key_over_its_quota_is_refused_with_402(client, way) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    await set_limits(client, key_id, monthly_char_quota=len(TEXT) - 1)
    path, kwargs = http_ways_in(voice_id, TEXT)[way]
    r = await client.post(path, headers=headers, **kwargs)
    assert r.status_code == 402, r.text
    body = r.json()
    assert body["error"] == "quota_exceeded"
    details = body["details"]
    assert details["quota"] == "monthly_char_quota"
    assert details["limit"] == len(TEXT) - 1
    assert details["used"] == 0
    assert details["requested"] == len(TEXT)
    assert details["resets_at"] > time.strftime("%Y-%m-%d")
    assert "resets" in body["message"]


@pytest.mark.parametrize("way", ["sync", "stream", "synthesize", "openai", "oneshot"])
async def test_each_way_in_is_recorded_once_with_its_characters(client, services, way) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    path, kwargs = http_ways_in(voice_id, TEXT)[way]
    r = await client.post(path, headers=headers, **kwargs)
    assert r.status_code in (200, 202), r.text
    if r.status_code == 202:
        job = await wait_for_job(client, r.json()["job_id"], headers)
        assert job["status"] == "ready"
    rows = await usage_rows(services, key_id)
    assert len(rows) == 1, [(row.entry, row.characters) for row in rows]
    row = rows[0]
    assert row.entry == ("job" if way == "synthesize" else way)
    assert row.kind == "tts"
    assert row.characters == len(TEXT)
    assert row.cache_hit is False
    assert row.requests == 1
    assert row.backend == "fake"
    assert row.audio_out_s > 0
    assert row.voice_id == (None if way == "oneshot" else voice_id)


async def test_a_cache_hit_costs_no_characters_but_counts_as_a_request(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    first = await client.post(
        f"/v1/text-to-speech/{voice_id}", json={"text": TEXT}, headers=headers
    )
    again = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": TEXT}, headers=headers
    )
    assert first.headers["X-Cache"] == "MISS" and again.headers["X-Cache"] == "HIT"
    rows = await usage_rows(services, key_id)
    assert [(r.entry, r.characters, r.cache_hit, r.requests) for r in rows] == [
        ("sync", len(TEXT), False, 1),
        ("synthesize", 0, True, 1),
    ]
    assert rows[1].audio_out_s == pytest.approx(rows[0].audio_out_s, abs=0.01)


async def test_the_quota_counts_what_was_used_this_period(client) -> None:
    headers, key_id = await make_key(client, monthly_char_quota=2 * len(TEXT))
    voice_id = await add_voice(client, headers)
    for text in ("Hello there.", "Hello again."):
        r = await client.post(
            f"/v1/text-to-speech/{voice_id}", json={"text": text}, headers=headers
        )
        assert r.status_code == 200, r.text
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": "More."}, headers=headers)
    assert r.status_code == 402
    assert r.json()["details"]["used"] == 2 * len(TEXT)
    # Clearing the key's quota (no server default here) lifts the limit at once.
    await set_limits(client, key_id, monthly_char_quota=None)
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": "More."}, headers=headers)
    assert r.status_code == 200


async def test_negative_or_huge_limits_are_refused_and_change_nothing(client) -> None:
    _, key_id = await make_key(client, monthly_char_quota=100)
    for bad in (
        {"monthly_char_quota": -1},
        {"rate_limit_per_minute": 0},
        {"max_concurrent_jobs": 2**40},
        {"rate_limit_per_minute": 1e23},
    ):
        r = await client.patch(f"/v1/keys/{key_id}", json=bad, headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"] == "validation_error"
    r = await client.post(
        "/v1/keys", json={"monthly_char_quota": -5}, headers={"X-API-Key": ADMIN_KEY}
    )
    assert r.status_code == 422
    keys = (await client.get("/v1/keys", headers={"X-API-Key": ADMIN_KEY})).json()
    mine = next(k for k in keys if k["key_id"] == key_id)
    assert mine["monthly_char_quota"] == 100 and mine["rate_limit_per_minute"] is None


async def test_history_retention_is_set_per_key(client) -> None:
    _, key_id = await make_key(client, history_max_age_days=30)
    await set_limits(client, key_id, history_max_bytes=10**9)
    keys = (await client.get("/v1/keys", headers={"X-API-Key": ADMIN_KEY})).json()
    mine = next(k for k in keys if k["key_id"] == key_id)
    assert (mine["history_max_age_days"], mine["history_max_bytes"]) == (30, 10**9)


async def test_only_the_admin_sets_limits(client) -> None:
    headers, key_id = await make_key(client)
    r = await client.patch(
        f"/v1/keys/{key_id}", json={"monthly_char_quota": 10**6}, headers=headers
    )
    assert r.status_code == 403


async def test_past_its_rate_a_key_gets_429_with_retry_after(client) -> None:
    headers, _ = await make_key(client, rate_limit_per_minute=3)
    voice_id = await add_voice(client, headers)  # the first request of the minute
    seen = []
    for _ in range(2):
        r = await client.get(f"/v1/voices/{voice_id}", headers=headers)
        assert r.status_code == 200
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
        assert r.headers["X-RateLimit-Limit"] == "3"
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert seen == [1, 0]
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": TEXT}, headers=headers)
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "rate_limited"
    assert r.json()["details"]["limit"] == 3
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # Another key has its own budget; a key without a limit gets no rate headers.
    other, _ = await make_key(client)
    r = await client.get("/v1/voices", headers=other)
    assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers


async def test_raising_the_rate_limit_takes_effect_at_once(client) -> None:
    headers, key_id = await make_key(client, rate_limit_per_minute=1)
    assert (await client.get("/v1/voices", headers=headers)).status_code == 200
    assert (await client.get("/v1/voices", headers=headers)).status_code == 429
    await set_limits(client, key_id, rate_limit_per_minute=10)
    assert (await client.get("/v1/voices", headers=headers)).status_code == 200


async def test_past_its_concurrent_jobs_a_key_gets_429(tmp_path, database_url) -> None:
    settings = make_settings(tmp_path / "jobs", database_url=database_url)
    fake = "voxclone.engines.fake:FakeEngine"
    registry = EngineRegistry(
        [
            EngineSpec("fake", fake, options={"delay_s": 0.5}),
            EngineSpec("fitter", fake, options={"fitting": True}),
        ]
    )
    services = build_services(settings, engines=registry)
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers, _ = await make_key(client, max_concurrent_jobs=1)
            voice_id = await add_voice(client, headers)
            first = await client.post(
                "/v1/synthesize", json={"voice_id": voice_id, "text": "One."}, headers=headers
            )
            assert first.status_code == 202
            second = await client.post(
                "/v1/synthesize", json={"voice_id": voice_id, "text": "Two."}, headers=headers
            )
            assert second.status_code == 429, second.text
            assert second.json()["error"] == "too_many_concurrent_jobs"
            assert second.json()["details"] == {"retry_after_s": 5.0, "limit": 1, "running": 1}
            assert second.headers["Retry-After"] == "5"
            # Every job-creating route counts the same jobs: a biometrics job is refused too.
            biometrics = await client.post(
                "/v1/biometrics/jobs",
                files={"audio": ("a.wav", tone_wav(), "audio/wav")},
                headers=headers,
            )
            assert biometrics.status_code == 429, biometrics.text
            assert biometrics.json()["error"] == "too_many_concurrent_jobs"
            # So is a voice that would be fitted in a job, and nothing of it is kept.
            fitted = await client.post(
                "/v1/voices",
                data={"name": "f", "backend": "fitter", "ref_text": "hi"},
                files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
                headers=headers,
            )
            assert fitted.status_code == 429, fitted.text
            listed = (await client.get("/v1/voices", headers=headers)).json()
            names = [v["name"] for v in (listed["voices"] if isinstance(listed, dict) else listed)]
            assert "f" not in names
            await wait_for_job(client, first.json()["job_id"], headers)
            third = await client.post(
                "/v1/synthesize", json={"voice_id": voice_id, "text": "Two."}, headers=headers
            )
            assert third.status_code == 202


async def test_a_job_run_twice_is_recorded_once(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": TEXT}, headers=headers
    )
    job = await wait_for_job(client, r.json()["job_id"], headers)
    async with services.sessions() as session:
        from voxclone.db import jobs as job_queries

        row = await job_queries.get_job(session, job_id=str(job["job_id"]))
    assert row is not None
    await services.synthesis.run(row)  # a redelivered job that renders again
    rows = await usage_rows(services, key_id)
    assert [(r.entry, r.characters) for r in rows] == [("job", len(TEXT))]


# --- the TTS WebSocket --------------------------------------------------------------------------


@pytest.fixture
def ws_client(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Services]]:
    services = build_services(
        make_settings(tmp_path / "ws", database_url=database_url), engines=fake_registry()
    )
    with TestClient(create_app(services=services)) as client:
        yield client, services


def ws_key(client: TestClient, **limits: Any) -> tuple[str, str, str]:
    r = client.post("/v1/keys", json={"label": "ws", **limits}, headers={"X-API-Key": ADMIN_KEY})
    key, key_id = r.json()["api_key"], r.json()["key_id"]
    r = client.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "hello"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 201, r.text
    return key, key_id, r.json()["voice_id"]


def test_the_websocket_records_each_piece_as_one_request(ws_client) -> None:
    client, services = ws_client
    key, key_id, voice_id = ws_key(client)
    with client.websocket_connect(f"/v1/text-to-speech/{voice_id}/ws?api_key={key}") as ws:
        assert ws.receive_json()["type"] == "started"
        ws.send_json({"text": "First one. Second one. "})
        ws.send_json({"text": ""})
        while True:
            message = ws.receive()
            if message.get("text") and json.loads(message["text"])["type"] == "final":
                break
    rows = client.portal.call(usage_rows, services, key_id)  # type: ignore[union-attr]
    assert [(r.entry, r.characters, r.requests) for r in rows] == [
        ("ws", len("First one."), 1),
        ("ws", len("Second one."), 0),
    ]


def test_the_websocket_closes_4402_when_the_quota_runs_out(ws_client) -> None:
    client, _ = ws_client
    key, _, voice_id = ws_key(client, monthly_char_quota=len("First one."))
    with client.websocket_connect(f"/v1/text-to-speech/{voice_id}/ws?api_key={key}") as ws:
        assert ws.receive_json()["type"] == "started"
        ws.send_json({"text": "First one. Second one. "})
        ws.send_json({"text": ""})
        error = None
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                message = ws.receive()
                if message["type"] == "websocket.close":
                    raise WebSocketDisconnect(message["code"], message.get("reason"))
                if message.get("text"):
                    error = json.loads(message["text"])
    assert error is not None and error["error"] == "quota_exceeded"
    assert closed.value.code == 4402
    reason = json.loads(closed.value.reason)
    assert reason["error"] == "quota_exceeded" and reason["limit"] == len("First one.")


def test_the_websocket_closes_4429_past_the_rate(ws_client) -> None:
    client, _ = ws_client
    key, _, voice_id = ws_key(client, rate_limit_per_minute=2)  # the voice was request 1
    url = f"/v1/text-to-speech/{voice_id}/ws?api_key={key}"
    with client.websocket_connect(url) as ws:
        assert ws.receive_json()["type"] == "started"
    with client.websocket_connect(url) as ws:
        message = ws.receive_json()
        assert message["type"] == "error" and message["error"] == "rate_limited"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4429
    assert json.loads(closed.value.reason)["limit"] == 2
