"""Fixtures for remote engines: provider servers and stand-ins on loopback, and a gateway.

The gateway is the real app with real services (SQLite in a temp dir) whose engines come from an
engines file, exactly as ``VOXCLONE_ENGINES_FILE`` gives them in production; it is driven
in-process, while every remote engine it uses talks real HTTP to servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, make_settings, tone_wav
from tests.remote.servers import ProviderProcess, ThreadServer
from voxclone.api.app import create_app
from voxclone.api.provider import create_provider_app
from voxclone.config import LimitSettings
from voxclone.engines.fake import FakeEngine
from voxclone.engines.fake_stt import FakeTranscriber
from voxclone.services.container import Services, build_services

FAKE_ENGINE = """
[[engines]]
name = "fake"
type = "python"
target = "voxclone.engines.fake:FakeEngine"
"""
TEST_POLICY: dict[str, Any] = {
    "allow_loopback_urls": True,
    "timeout_s": 5.0,
    "connect_timeout_s": 2.0,
    "health_timeout_s": 1.0,
    "backoff_s": 0.0,
    "max_backoff_s": 0.0,
    "eject_s": 60.0,
}


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def engine_entry(name: str, type: str, **fields: Any) -> str:
    """One ``[[engines]]`` table; remote types get the test policy unless overridden."""
    values: dict[str, Any] = {"name": name, "type": type}
    if type != "python":
        values.update(TEST_POLICY)
    values.update(fields)
    return "\n[[engines]]\n" + "\n".join(f"{k} = {toml_value(v)}" for k, v in values.items())


@dataclass
class Provider:
    url: str
    engine: Any
    stop: Callable[[], None]


@pytest.fixture
def servers() -> Iterator[list[ThreadServer]]:
    running: list[ThreadServer] = []
    yield running
    for server in running:
        server.stop()


@pytest.fixture
def serve(servers: list[ThreadServer]) -> Callable[[Any], str]:
    """``serve(app)`` runs an ASGI app on loopback and returns its URL."""

    def start(app: Any) -> str:
        server = ThreadServer(app)
        servers.append(server)
        return server.start()

    return start


@pytest.fixture
def provider(servers: list[ThreadServer]) -> Callable[..., Provider]:
    """``provider(**fake_options)``: voxclone's provider server for a FakeEngine, in a thread."""

    def start(
        *, engine: Any = None, kind: str = "tts", api_key: str | None = None, **options: Any
    ) -> Provider:
        if engine is None:
            engine = FakeEngine("fake", **options) if kind == "tts" else FakeTranscriber("stt")
        app = create_provider_app(
            **{kind: engine}, limits=LimitSettings(), api_key=api_key, concurrency=4
        )
        server = ThreadServer(app)
        servers.append(server)
        return Provider(url=server.start(), engine=engine, stop=server.stop)

    return start


@dataclass
class Gateway:
    client: httpx.AsyncClient
    services: Services
    user: dict[str, str]
    admin: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {ADMIN_KEY}"})

    async def voice(self, backend: str, *, ref: bytes | None = None, **fields: str) -> str:
        r = await self.client.post(
            "/v1/voices",
            data={"name": "v", "backend": backend, "ref_text": "hello there", **fields},
            files={"ref_audio": ("ref.wav", ref or tone_wav(), "audio/wav")},
            headers=self.user,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["voice_id"])

    async def say(self, voice_id: str, text: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/v1/text-to-speech/{voice_id}", json={"text": text, **body}, headers=self.user
        )

    async def engines(self, *, probe: bool = False) -> dict[str, Any]:
        r = await self.client.get(
            "/v1/engines", params={"probe": str(probe).lower()}, headers=self.admin
        )
        assert r.status_code == 200, r.text
        return {e["name"]: e for e in r.json()["engines"]}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await gateway(engines_toml, **settings)``: the app with engines from that file."""
    stack = AsyncExitStack()
    count = 0

    async def make(engines: str, **overrides: Any) -> Gateway:
        nonlocal count
        count += 1
        path = tmp_path / f"engines-{count}.toml"
        path.write_text(FAKE_ENGINE + engines, encoding="utf-8")
        settings = make_settings(tmp_path / f"data-{count}", engines_file=path, **overrides)
        services = build_services(settings)
        app = create_app(services=services)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=60
            )
        )
        r = await client.post(
            "/v1/keys", json={"label": "t"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        assert r.status_code == 201, r.text
        user = {"Authorization": f"Bearer {r.json()['api_key']}"}
        return Gateway(client=client, services=services, user=user)

    yield make
    await stack.aclose()


@pytest.fixture(scope="session")
def speech_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderProcess]:
    """One real ``voxclone provider serve --engine deepfilternet --engine resemblyzer``, for
    the session: the built-in denoiser and speaker embedder served over loopback."""
    cwd = tmp_path_factory.mktemp("speech-provider")
    engines = cwd / "engines.toml"
    engines.write_text("", encoding="utf-8")
    process = ProviderProcess(["deepfilternet", "resemblyzer"], engines, cwd=cwd).start()
    try:
        process.wait_ready(timeout_s=120)
        yield process
    finally:
        process.stop()
