"""Concurrent heavy requests per key (limits.max_concurrent_heavy_per_key): while a key holds
all its slots, a synthesis that misses the cache, a transcription, a denoise and a voice
creation get 429 with Retry-After and an error naming the limit; a cache hit does not count,
and other keys are not affected."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.services.container import Services, build_services
from voxclone.services.keys import Principal
from voxclone.services.synthesis_request import SynthesisRequest


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
        streamed = await client.post(
            f"/v1/text-to-speech/{voice}/stream", json={"text": "Not cached."}, headers=user
        )
        assert_heavy_refusal(streamed)

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


async def voice_of(client: httpx.AsyncClient, user: dict[str, str]) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "backend": "fake", "ref_text": "a tone"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def test_a_stream_holds_its_slot_until_its_last_piece_or_until_it_is_dropped(
    client: httpx.AsyncClient, services: Services
) -> None:
    key_id, user = await new_user(client)
    voice = await voice_of(client, user)
    caller = Principal(key_id=key_id)
    synthesis = services.synthesis

    def request(text: str) -> SynthesisRequest:
        return SynthesisRequest(voice_id=voice, text=text, format="pcm")

    stream = await synthesis.stream(caller=caller, req=request("One. Two. Three."))
    first = await anext(stream.pieces)  # the stream is under way: its slot is held
    assert first
    busy = await client.post(
        f"/v1/text-to-speech/{voice}/stream", json={"text": "Another."}, headers=user
    )
    assert_heavy_refusal(busy)
    async for _ in stream.pieces:  # sent to the end: the slot is free
        pass
    free = await client.post(
        f"/v1/text-to-speech/{voice}/stream", json={"text": "Another."}, headers=user
    )
    assert free.status_code == 200, free.text

    dropped = await synthesis.stream(caller=caller, req=request("Never read."))
    del dropped  # a consumer that went away before reading anything
    gc.collect()
    await asyncio.sleep(0.05)
    again = await client.post(
        f"/v1/text-to-speech/{voice}/stream", json={"text": "Once more."}, headers=user
    )
    assert again.status_code == 200, again.text
