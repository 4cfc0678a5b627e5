"""Idle engines are unloaded by the server's periodic step, and a request after the unload loads
the engine again without the caller noticing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services


@pytest.fixture
def engines() -> EngineRegistry:
    return fake_registry()


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, engines: EngineRegistry
) -> AsyncIterator[httpx.AsyncClient]:
    """Engines idle for 50 ms are unloaded (looked for every 50 ms)."""
    settings = make_settings(
        tmp_path / "data",
        database_url=database_url,
        engines={"idle_unload_s": 0.05, "check_s": 0.05},
    )
    app = create_app(services=build_services(settings, engines=engines))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def until_unloaded(engines: EngineRegistry, name: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while engines.is_loaded(name):
        assert time.monotonic() < deadline, f"{name} was not unloaded"
        await asyncio.sleep(0.02)


async def test_an_idle_engine_is_unloaded_and_reloaded_on_the_next_request(
    client: httpx.AsyncClient, engines: EngineRegistry
) -> None:
    r = await client.post("/v1/keys", json={"label": "u"}, headers={"X-API-Key": ADMIN_KEY})
    user = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "backend": "fake", "ref_text": "a tone"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice = r.json()["voice_id"]

    await until_unloaded(engines, "fake")
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Hello."}, headers=user)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("audio/")

    await until_unloaded(engines, "fake")
    r = await client.post(
        f"/v1/text-to-speech/{voice}", json={"text": "Hello again."}, headers=user
    )
    assert r.status_code == 200, r.text
