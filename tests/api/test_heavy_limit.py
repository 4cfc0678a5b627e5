"""Concurrent heavy requests per key (limits.max_concurrent_heavy_per_key): while a key holds
all its slots, a synthesis that misses the cache, a transcription, a denoise and a voice
creation get 429 with Retry-After and an error naming the limit; a cache hit does not count,
and other keys are not affected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.services.container import Services, build_services


@pytest.fixture
async def services(tmp_path: Path, database_url: str) -> Services:
    settings = make_settings(
        tmp_path / "data",
        database_url=database_url,
        limits={"max_concurrent_heavy_per_key": 1},
    )
    return build_services(settings, engines=fake_registry())


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def new_user(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    r = await client.post("/v1/keys", json={"label": "h"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return r.json()["key_id"], {"Authorization": f"Bearer {r.json()['api_key']}"}


def assert_heavy_refusal(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1
    body = r.json()
    assert body["error"] == "too_many_concurrent_requests"
    assert body["details"]["limit"] == 1
    assert body["details"]["setting"] == "limits.max_concurrent_heavy_per_key"


async def test_heavy_requests_over_the_limit_get_429_and_cache_hits_pass(
    client: httpx.AsyncClient, services: Services
) -> None:
    key_id, user = await new_user(client)
    _, other = await new_user(client)
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "backend": "fake", "ref_text": "a tone"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice = r.json()["voice_id"]
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Cached."}, headers=user)
    assert r.status_code == 200, r.text

    async with services.admission.heavy.hold(key_id, work="synthesis"):  # one in flight
        hit = await client.post(
            f"/v1/text-to-speech/{voice}", json={"text": "Cached."}, headers=user
        )
        assert hit.status_code == 200, hit.text
        assert hit.headers.get("X-Cache") == "HIT"

        miss = await client.post(
            f"/v1/text-to-speech/{voice}", json={"text": "Not cached."}, headers=user
        )
        assert_heavy_refusal(miss)

        clip = {"file": ("a.wav", tone_wav(), "audio/wav")}
        assert_heavy_refusal(await client.post("/v1/audio/denoise", files=clip, headers=user))
        stt = {"audio": ("a.wav", tone_wav(), "audio/wav")}
        assert_heavy_refusal(await client.post("/v1/transcribe", files=stt, headers=user))
        created = await client.post(
            "/v1/voices",
            data={"name": "w", "backend": "fake", "ref_text": "a tone"},
            files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        assert_heavy_refusal(created)

        theirs = await client.post(  # another key has slots of its own
            "/v1/voices",
            data={"name": "o", "backend": "fake", "ref_text": "a tone"},
            files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
            headers=other,
        )
        assert theirs.status_code == 201, theirs.text

    again = await client.post(
        f"/v1/text-to-speech/{voice}", json={"text": "Not cached."}, headers=user
    )
    assert again.status_code == 200, again.text
