"""Shared fixtures: settings in a temp dir, the app with real services, audio factories."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from tests import contract, peers
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.db.migrate import upgrade_database
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services, build_services

# Whisper tiny.en for every test that does not ask for another model (the multilingual default
# is 3x slower and copies 145 MB into each data dir); in-process CLI runs read it from here.
os.environ.setdefault("VOXCLONE_WHISPER__PACKAGED_MODEL", "tiny.en")

ADMIN_KEY = "vxadmin_test-admin-key"
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
EVAL_SPEECH = SHARED / "eval" / "speech"
DATABASES = [
    name.strip()
    for name in os.environ.get("VOXCLONE_TEST_DATABASES", "sqlite,postgresql").split(",")
    if name.strip()
]
"""The databases every database-backed test runs on (``VOXCLONE_TEST_DATABASES=sqlite`` to
run on SQLite alone while iterating; CI runs both, and fails when PostgreSQL is down)."""


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "data_dir": data_dir,
        "admin_key": ADMIN_KEY,
        "default_backend": "fake",
        # English-only tiny.en: 3x faster than the multilingual default and no 145 MB copy of
        # base per data dir; the multilingual tests ask for base themselves.
        "whisper": {"packaged_model": "tiny.en"},
        # Marked audio differs per synthesis (it names its history item): tests that compare
        # bytes of two syntheses run unmarked; the watermark's own tests turn it on.
        "watermark": {"enabled": False},
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def fake_registry(**fake_options: object) -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine", options=dict(fake_options)),
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
        ]
    )


def tone_wav(seconds: float = 4.0, rate: int = 16000, hz: float = 180.0, fmt: str = "WAV") -> bytes:
    """A voiced-sounding test clip: a tone with harmonics and a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    wave = sum(0.2 / k * np.sin(2 * np.pi * hz * k * t) for k in range(1, 5))
    samples = (wave + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt)
    return buf.getvalue()


@dataclass
class StreamedSpeech:
    headers: httpx.Headers
    pieces: list[bytes]
    arrivals: list[float]
    """Seconds from the request to each piece."""

    @property
    def data(self) -> bytes:
        return b"".join(self.pieces)


def stream_speech(sdk: openai.OpenAI, *, voice: str, text: str) -> StreamedSpeech:
    """MP3 from POST /v1/audio/speech with ``"stream": true``, read through the official SDK as
    the pieces come (Kokoro-FastAPI's streaming call)."""
    started = time.perf_counter()
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice=voice, input=text, response_format="mp3", extra_body={"stream": True}
    ) as response:
        got = StreamedSpeech(response.headers, [], [])
        for piece in response.iter_bytes():
            got.arrivals.append(time.perf_counter() - started)
            got.pieces.append(piece)
    return got


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this test session, migrated once, dropped at the end."""
    with peers.temporary_database() as url:
        asyncio.run(upgrade_database(url))
        yield url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[peers.S3Server]:
    """moto's S3 server on a free loopback port, for this test session."""
    server = peers.S3Server().start()
    yield server
    server.stop()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database: a SQLite file in its data dir, or the session's PostgreSQL
    database, emptied first (every table but Alembic's)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voxclone.db'}"
    if request.param != "postgresql":
        raise ValueError(f"VOXCLONE_TEST_DATABASES: unknown database {request.param!r}")
    url: str = request.getfixturevalue("postgres_url")
    peers.empty_all_tables(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "data", database_url=database_url)


@pytest.fixture
def registry() -> EngineRegistry:
    return fake_registry()


@pytest.fixture
async def services(settings: Settings, registry: EngineRegistry) -> AsyncIterator[Services]:
    svc = build_services(settings, engines=registry)
    yield svc


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def new_key(client: httpx.AsyncClient, admin_headers: dict[str, str]):  # type: ignore[no-untyped-def]
    async def make(label: str = "test") -> dict[str, str]:
        r = await client.post("/v1/keys", json={"label": label}, headers=admin_headers)
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['api_key']}", "_key_id": r.json()["key_id"]}

    return make


@pytest.fixture
async def user(new_key) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers: dict[str, str] = await new_key("alice")
    headers.pop("_key_id")
    return headers


@pytest.fixture
async def voice_id(client: httpx.AsyncClient, user: dict[str, str]) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "alice-voice", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def wait_for_job(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout_s: float = 30
) -> dict[str, object]:
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = await client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        if body["status"] in ("ready", "failed", "cancelled"):
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


# --- the OpenAPI contract against every answer the suite saw (tests/contract.py) ---------------

_SEEN = contract.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != 0 or not _SEEN.answers:
        return
    gaps = contract.undocumented(_SEEN)
    if gaps:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["", "Answers the OpenAPI document does not list (api/openapi.py):", *gaps]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
